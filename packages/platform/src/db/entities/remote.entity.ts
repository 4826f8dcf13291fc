import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { PulpBase } from './base';
import { ContentArtifact } from './content.entity';

@Entity('core_remote')
export class Remote extends PulpBase {
  @Column('varchar', { length: 64 }) pulp_type: string;
  @Index('core_remote_name_uniq', { unique: true }) @Column('text') name: string;
  @Column('text') url: string;
  @Column('jsonb', { default: () => "'{}'" }) pulp_labels: Record<string, string>;
  @Column('text', { nullable: true }) ca_cert: string | null;
  @Column('text', { nullable: true }) client_cert: string | null;
  @Column('text', { nullable: true }) client_key: string | null;
  @Column('boolean', { default: true }) tls_validation: boolean;
  @Column('text', { nullable: true }) username: string | null;
  @Column('text', { nullable: true }) password: string | null;
  @Column('text', { nullable: true }) proxy_url: string | null;
  @Column('text', { nullable: true }) proxy_username: string | null;
  @Column('text', { nullable: true }) proxy_password: string | null;
  @Column('integer', { nullable: true }) download_concurrency: number | null;
  @Column('integer', { nullable: true }) max_retries: number | null;
  @Column('varchar', { length: 32, default: 'immediate' }) policy: string;
  @Column('double precision', { nullable: true }) total_timeout: number | null;
  @Column('double precision', { nullable: true }) connect_timeout: number | null;
  @Column('double precision', { nullable: true }) sock_connect_timeout: number | null;
  @Column('double precision', { nullable: true }) sock_read_timeout: number | null;
  @Column('jsonb', { default: () => "'[]'" }) headers: Array<Record<string, string>>;
  @Column('integer', { nullable: true }) rate_limit: number | null;
}

/** Where a content artifact can be downloaded from (expected size and digests). */
@Entity('core_remoteartifact')
@Unique('core_remoteartifact_ca_remote_uniq', ['content_artifact_id', 'remote_id'])
export class RemoteArtifact extends PulpBase {
  @Column('text') url: string;
  @Column('bigint', { nullable: true }) size: string | null;
  @Column('varchar', { length: 32, nullable: true }) md5: string | null;
  @Column('varchar', { length: 40, nullable: true }) sha1: string | null;
  @Column('varchar', { length: 56, nullable: true }) sha224: string | null;
  @Column('varchar', { length: 64, nullable: true }) sha256: string | null;
  @Column('varchar', { length: 96, nullable: true }) sha384: string | null;
  @Column('varchar', { length: 128, nullable: true }) sha512: string | null;
  @Column('timestamptz', { nullable: true }) failed_at: Date | null;
  @Column('uuid') content_artifact_id: string;
  @ManyToOne(() => ContentArtifact, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'content_artifact_id' }) content_artifact?: ContentArtifact;
  @Index('core_remoteartifact_remote_idx') @Column('uuid') remote_id: string;
  @ManyToOne(() => Remote, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'remote_id' }) remote?: Remote;
}
