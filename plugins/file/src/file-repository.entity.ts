import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Detail row of a `file.file` repository. */
@Entity('file_filerepository')
export class FileRepository {
  @PrimaryColumn('uuid') repository_ptr_id: string;
  /** Publish every new version automatically. */
  @Column('boolean', { default: false }) autopublish: boolean;
  /** Manifest file name used when autopublishing (null = no manifest). */
  @Column('text', { nullable: true, default: 'PULP_MANIFEST' }) manifest: string | null;
  /** What the last sync saw (remote, policy, manifest checksum, resulting version): lets `optimize` skip. */
  @Column('jsonb', { nullable: true }) last_sync_details: Record<string, unknown> | null;
}
