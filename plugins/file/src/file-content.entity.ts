import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `file.file`: one file at a relative path; detail row of `core_content`. */
@Entity('file_filecontent')
@Index('file_filecontent_natural_key', ['relative_path', 'digest'], { unique: true })
export class FileContent {
  @PrimaryColumn('uuid') content_ptr_id: string;
  @Column('text') relative_path: string;
  /** sha256 of the file (hex). */
  @Index('file_filecontent_digest_idx')
  @Column('varchar', { length: 64 }) digest: string;
}
