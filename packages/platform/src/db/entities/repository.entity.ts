import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { PulpBase } from './base';
import { Remote } from './remote.entity';
import { Content } from './content.entity';

@Entity('core_repository')
export class Repository extends PulpBase {
  @Index('core_repository_pulp_type_idx') @Column('varchar', { length: 64 }) pulp_type: string;
  @Index('core_repository_name_uniq', { unique: true }) @Column('text') name: string;
  @Column('text', { nullable: true }) description: string | null;
  @Column('jsonb', { default: () => "'{}'" }) pulp_labels: Record<string, string>;
  /** Number the next version will get; never decremented, so numbers are never reused. */
  @Column('integer', { default: 1 }) next_version: number;
  @Column('integer', { nullable: true }) retain_repo_versions: number | null;
  @Column('integer', { nullable: true }) retain_checkpoints: number | null;
  @Column('boolean', { default: false }) user_hidden: boolean;
  @Column('uuid', { nullable: true }) remote_id: string | null;
  @ManyToOne(() => Remote, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'remote_id' }) remote?: Remote;
}

/**
 * An immutable, numbered state of a repository. Incomplete versions are being built by a task
 * and are never visible through the API.
 */
@Entity('core_repositoryversion')
@Unique('core_repositoryversion_repo_number_uniq', ['repository_id', 'number'])
export class RepositoryVersion extends PulpBase {
  @Column('uuid') repository_id: string;
  @ManyToOne(() => Repository, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'repository_id' }) repository?: Repository;
  @Column('integer') number: number;
  @Index('core_repositoryversion_complete_idx') @Column('boolean', { default: false }) complete: boolean;
  @Column('uuid', { nullable: true }) base_version_id: string | null;
  @ManyToOne(() => RepositoryVersion, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'base_version_id' }) base_version?: RepositoryVersion;
  @Column('jsonb', { default: () => "'{}'" }) info: Record<string, unknown>;
  /** `{added|removed|present: {pulp_type: count}}` */
  @Column('jsonb', { default: () => `'{"added":{},"removed":{},"present":{}}'` }) content_summary: ContentCounts;
  /** Task building this version while it is incomplete. */
  @Column('uuid', { nullable: true }) task_id: string | null;
}

export interface ContentCounts {
  added: Record<string, number>;
  removed: Record<string, number>;
  present: Record<string, number>;
}

/**
 * Membership as version ranges: a unit is in version N when version_added <= N and
 * (version_removed is null or version_removed > N). Versions are numbers, not foreign keys,
 * so listing a version is one index range scan.
 */
@Entity('core_repositorycontent')
@Unique('core_repositorycontent_added_uniq', ['repository_id', 'content_id', 'version_added'])
@Index('core_repositorycontent_content_idx', ['content_id'])
@Index('core_repositorycontent_repo_removed_idx', ['repository_id', 'version_removed'])
@Index('core_repositorycontent_repo_added_idx', ['repository_id', 'version_added'])
export class RepositoryContent {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  @Column('uuid') repository_id: string;
  @ManyToOne(() => Repository, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'repository_id' }) repository?: Repository;
  @Column('uuid') content_id: string;
  @ManyToOne(() => Content, { onDelete: 'RESTRICT' }) @JoinColumn({ name: 'content_id' }) content?: Content;
  @Column('integer') version_added: number;
  @Column('integer', { nullable: true }) version_removed: number | null;
}
