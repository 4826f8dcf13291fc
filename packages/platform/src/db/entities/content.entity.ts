import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { PulpBase } from './base';
import { Artifact } from './artifact.entity';

/** Master content row; each content type adds a detail table keyed by `content_ptr_id`. */
@Entity('core_content')
export class Content extends PulpBase {
  @Index('core_content_pulp_type_idx') @Column('varchar', { length: 64 }) pulp_type: string;
  @Column('uuid', { nullable: true }) upstream_id: string | null;
  @Column('jsonb', { default: () => "'{}'" }) pulp_labels: Record<string, string>;
  @Column('timestamptz', { default: () => 'now()' }) timestamp_of_interest: Date;
}

/** Links a unit to the artifact stored for one of its relative paths (null: not downloaded yet). */
@Entity('core_contentartifact')
@Unique('core_contentartifact_content_path_uniq', ['content_id', 'relative_path'])
export class ContentArtifact extends PulpBase {
  @Column('uuid') content_id: string;
  @ManyToOne(() => Content, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'content_id' }) content?: Content;
  @Index('core_contentartifact_artifact_idx') @Column('uuid', { nullable: true }) artifact_id: string | null;
  @ManyToOne(() => Artifact, { onDelete: 'RESTRICT', nullable: true }) @JoinColumn({ name: 'artifact_id' }) artifact?: Artifact;
  @Column('text') relative_path: string;
}
