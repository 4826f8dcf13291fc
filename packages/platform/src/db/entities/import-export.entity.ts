import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { PulpBase } from './base';
import { Repository } from './repository.entity';
import { Task, TaskGroup } from './task.entity';

/** One repository version an export wrote (`base_number` set for an incremental export). */
export interface ExportedVersion {
  repository_id: string;
  version_id: string;
  number: number;
  base_number: number | null;
}

/** Writes archives of its repositories into `path` (Pulp's PulpExporter). */
@Entity('core_pulpexporter')
export class PulpExporter extends PulpBase {
  @Index('core_pulpexporter_name_uniq', { unique: true }) @Column('text') name: string;
  @Column('text') path: string;
  /** Base of the next incremental export; writable through the API, as in Pulp. */
  @Column('uuid', { nullable: true }) last_export_id: string | null;
  // Relation<>: PulpExport is declared below, and decorator metadata must not touch it yet.
  @ManyToOne(() => PulpExport, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'last_export_id' }) last_export?: Relation<PulpExport>;
}

@Entity('core_pulpexporter_repositories')
@Index('core_pulpexporter_repositories_repository_idx', ['repository_id'])
export class PulpExporterRepository {
  @PrimaryColumn('uuid') exporter_id: string;
  @ManyToOne(() => PulpExporter, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'exporter_id' }) exporter?: PulpExporter;
  @PrimaryColumn('uuid') repository_id: string;
  @ManyToOne(() => Repository, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'repository_id' }) repository?: Repository;
}

/** One run of an exporter; created and filled by the `core.export` task. */
@Entity('core_pulpexport')
export class PulpExport extends PulpBase {
  @Index('core_pulpexport_exporter_idx') @Column('uuid') exporter_id: string;
  @ManyToOne(() => PulpExporter, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'exporter_id' }) exporter?: PulpExporter;
  @Index('core_pulpexport_task_idx') @Column('uuid', { nullable: true }) task_id: string | null;
  @ManyToOne(() => Task, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'task_id' }) task?: Task;
  /** The request body as given. */
  @Column('jsonb', { default: () => "'{}'" }) params: Record<string, unknown>;
  @Column('jsonb', { default: () => "'[]'" }) exported_versions: ExportedVersion[];
  /** `{"<absolute path>": "<sha256>"}` for every tar or chunk and the TOC. */
  @Column('jsonb', { nullable: true }) output_file_info: Record<string, string> | null;
  /** `{"file": <absolute TOC path>, "sha256": …, "meta": …}` */
  @Column('jsonb', { nullable: true }) toc_info: Record<string, unknown> | null;
  /** What was exported (counts, bytes); Pith extra. */
  @Column('jsonb', { nullable: true }) summary: Record<string, unknown> | null;
}

/** Imports archives, mapping upstream repository names to local ones (Pulp's PulpImporter). */
@Entity('core_pulpimporter')
export class PulpImporter extends PulpBase {
  @Index('core_pulpimporter_name_uniq', { unique: true }) @Column('text') name: string;
  /** `{"<upstream repository name>": "<local repository name>"}` */
  @Column('jsonb', { default: () => "'{}'" }) repo_mapping: Record<string, string>;
}

/** One run of an importer: the `core.import` task and its per-repository children share a task group. */
@Entity('core_pulpimport')
export class PulpImport extends PulpBase {
  @Index('core_pulpimport_importer_idx') @Column('uuid') importer_id: string;
  @ManyToOne(() => PulpImporter, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'importer_id' }) importer?: PulpImporter;
  @Index('core_pulpimport_task_idx') @Column('uuid', { nullable: true }) task_id: string | null;
  @ManyToOne(() => Task, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'task_id' }) task?: Task;
  @Column('uuid', { nullable: true }) task_group_id: string | null;
  @ManyToOne(() => TaskGroup, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'task_group_id' }) task_group?: TaskGroup;
  /** The request body as given. */
  @Column('jsonb', { default: () => "'{}'" }) params: Record<string, unknown>;
  /** What the import did (filled by the tasks). */
  @Column('jsonb', { nullable: true }) report: Record<string, unknown> | null;
}
