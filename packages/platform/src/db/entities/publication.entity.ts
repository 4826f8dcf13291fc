import { Column, Entity, Index, JoinColumn, ManyToOne, Unique } from 'typeorm';
import { PulpBase } from './base';
import { RepositoryVersion } from './repository.entity';
import { ContentArtifact } from './content.entity';
import { Artifact } from './artifact.entity';

@Entity('core_publication')
export class Publication extends PulpBase {
  @Column('varchar', { length: 64 }) pulp_type: string;
  @Index('core_publication_complete_idx') @Column('boolean', { default: false }) complete: boolean;
  @Column('boolean', { default: false }) pass_through: boolean;
  @Column('boolean', { default: false }) checkpoint: boolean;
  @Index('core_publication_version_idx') @Column('uuid') repository_version_id: string;
  @ManyToOne(() => RepositoryVersion, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'repository_version_id' }) repository_version?: RepositoryVersion;
  @Column('uuid', { nullable: true }) task_id: string | null;
}

@Entity('core_publishedartifact')
@Unique('core_publishedartifact_pub_path_uniq', ['publication_id', 'relative_path'])
export class PublishedArtifact extends PulpBase {
  @Column('uuid') publication_id: string;
  @ManyToOne(() => Publication, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'publication_id' }) publication?: Publication;
  @Index('core_publishedartifact_ca_idx') @Column('uuid') content_artifact_id: string;
  @ManyToOne(() => ContentArtifact, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'content_artifact_id' }) content_artifact?: ContentArtifact;
  @Column('text') relative_path: string;
}

/** Generated metadata (e.g. PULP_MANIFEST, repodata) stored as an artifact of the publication. */
@Entity('core_publishedmetadata')
@Unique('core_publishedmetadata_pub_path_uniq', ['publication_id', 'relative_path'])
export class PublishedMetadata extends PulpBase {
  @Column('uuid') publication_id: string;
  @ManyToOne(() => Publication, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'publication_id' }) publication?: Publication;
  @Index('core_publishedmetadata_artifact_idx') @Column('uuid') artifact_id: string;
  @ManyToOne(() => Artifact, { onDelete: 'RESTRICT' }) @JoinColumn({ name: 'artifact_id' }) artifact?: Artifact;
  @Column('text') relative_path: string;
}
