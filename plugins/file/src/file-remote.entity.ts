import { Entity, PrimaryColumn } from 'typeorm';

/** Detail row of a `file.file` remote (no columns of its own yet; kept so the type can grow them). */
@Entity('file_fileremote')
export class FileRemote {
  @PrimaryColumn('uuid') remote_ptr_id: string;
}
