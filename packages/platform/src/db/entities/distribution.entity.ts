import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { PulpBase } from './base';
import { Publication } from './publication.entity';
import { Repository, RepositoryVersion } from './repository.entity';
import { Remote } from './remote.entity';

@Entity('core_contentguard')
export class ContentGuard extends PulpBase {
  @Column('varchar', { length: 64 }) pulp_type: string;
  @Index('core_contentguard_name_uniq', { unique: true }) @Column('text') name: string;
  @Column('text', { nullable: true }) description: string | null;
  /** Type-specific settings (header name/value, redirect secret, …). */
  @Column('jsonb', { default: () => "'{}'" }) settings: Record<string, unknown>;
}

@Entity('core_distribution')
export class Distribution extends PulpBase {
  @Column('varchar', { length: 64 }) pulp_type: string;
  @Index('core_distribution_name_uniq', { unique: true }) @Column('text') name: string;
  @Index('core_distribution_base_path_uniq', { unique: true }) @Column('text') base_path: string;
  @Column('jsonb', { default: () => "'{}'" }) pulp_labels: Record<string, string>;
  @Column('boolean', { default: false }) hidden: boolean;
  @Column('boolean', { default: false }) checkpoint: boolean;
  @Column('uuid', { nullable: true }) content_guard_id: string | null;
  @ManyToOne(() => ContentGuard, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'content_guard_id' }) content_guard?: ContentGuard;
  @Column('uuid', { nullable: true }) publication_id: string | null;
  @ManyToOne(() => Publication, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'publication_id' }) publication?: Publication;
  @Column('uuid', { nullable: true }) remote_id: string | null;
  @ManyToOne(() => Remote, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'remote_id' }) remote?: Remote;
  @Column('uuid', { nullable: true }) repository_id: string | null;
  @ManyToOne(() => Repository, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'repository_id' }) repository?: Repository;
  @Column('uuid', { nullable: true }) repository_version_id: string | null;
  @ManyToOne(() => RepositoryVersion, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'repository_version_id' }) repository_version?: RepositoryVersion;
}
