import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Detail row of a `file.file` publication. */
@Entity('file_filepublication')
export class FilePublication {
  @PrimaryColumn('uuid') publication_ptr_id: string;
  /** Name of the generated manifest (null = published without one). */
  @Column('text', { nullable: true }) manifest: string | null;
}
