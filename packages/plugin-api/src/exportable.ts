import type { Row } from './serialized';
import type { DataAccess } from './task-services';

/**
 * Which units of a repository version a content resource writes or reads:
 * - `present`: every unit of the version (full export);
 * - `added` / `removed`: units added or removed since the base version (incremental export).
 */
export type ExportSet = 'present' | 'added' | 'removed';

/**
 * What an exported record is:
 * - `content`: rows are units of `pulpType`; on import they become the new version's content;
 * - `repository`: one row of the repository's own settings, applied only when an import creates
 *   the repository (an existing downstream repository keeps its settings);
 * - `related`: rows that belong to content but are not content themselves (rpm's advisory
 *   collections, a distribution tree's images …); imported after the resources they reference.
 */
export type ModelResourceKind = 'content' | 'repository' | 'related';

/** What a resource may read when exporting one repository version. */
export interface ExportScope {
  readonly db: DataAccess;
  readonly repositoryId: string;
  /** pulp_type of the repository. */
  readonly repositoryType: string;
  readonly versionNumber: number;
  /** Base version of an incremental export (null for a full one). */
  readonly baseVersionNumber: number | null;
  readonly set: ExportSet;
  /**
   * Streams a query's rows in batches through a server-side cursor (memory stays flat whatever the
   * repository's size). Order the query by a unique key so exports are reproducible.
   */
  stream<T extends Row = Row>(sql: string, params?: unknown[], batchSize?: number): AsyncIterable<T[]>;
  /**
   * SQL selecting the content ids of this scope's `set` (one column `content_id`), with its
   * parameters starting at `$<firstParam>`; for resources that write their own queries.
   */
  contentIdsQuery(firstParam: number): { sql: string; params: unknown[] };
  /**
   * The standard rows of a content type whose detail columns hold plain values: every detail
   * column by name, `_artifacts` (`[{relative_path, sha256}]`, artifacts by digest, never by id)
   * and `pulp_labels`. Ordered by natural key.
   */
  contentRows(pulpType: string, batchSize?: number): AsyncIterable<Row[]>;
  /** The repository's detail columns (its type's own settings), by name. */
  repositoryRow(): Promise<Row>;
}

/** What a resource may do when importing rows into one downstream repository. */
export interface ImportScope {
  readonly db: DataAccess;
  /**
   * The downstream repository (already created when the import creates it; empty in a dry run
   * for a repository the import would create).
   */
  readonly repositoryId: string;
  readonly repositoryType: string;
  readonly set: ExportSet;
  /** A dry run: look things up and validate, write nothing. */
  readonly dryRun: boolean;
  /**
   * The counterpart of `ExportScope.contentRows`: checks every row against the type's columns (a
   * row that does not match is a clear error naming the member and line), resolves artifacts by
   * sha256 (all must be present: the archive carries them or they were imported before), and saves
   * units by natural key (existing units are reused). For `removed` rows nothing is saved: the
   * existing units are only looked up. Returns content ids in input order; in a dry run (and for
   * `removed` rows) null stands for a unit that does not exist here.
   */
  saveContentRows(pulpType: string, rows: Row[]): Promise<Array<string | null>>;
  /** Applies a `repositoryRow()` to the repository (checked against its type's columns; not in a dry run). */
  applyRepositoryRow(row: Row): Promise<void>;
}

/**
 * One kind of record in an export, for one repository version. A plugin lists its resources in
 * `IMPORT_ORDER` (`exportable` of its plugin definition): export writes them in that order and
 * import reads them in that order, so a resource may reference (by natural key, never by database
 * id) rows of any resource before it.
 */
export interface ModelResource {
  /** Stable name of the archive member (`<plugin id>.<Name>`, e.g. `file.FileContent`). */
  name: string;
  kind: ModelResourceKind;
  /** For `content` resources: the content type whose units the rows are. */
  pulpType?: string;
  /** Rows to write for `scope` (for `repository` resources: one row; only called with `present`). */
  exportRows(scope: ExportScope): AsyncIterable<Row[]>;
  /**
   * Imports a batch of rows read back from the archive (untrusted JSON: validate it; throw a
   * TaskError naming what is wrong). `content` resources return the units' content ids in input
   * order (null: not existing here, in a dry run); the others return nothing. In a dry run
   * nothing may be written.
   */
  importRows(scope: ImportScope, rows: Row[]): Promise<Array<string | null> | void>;
}

/** A plugin's import/export declaration. */
export interface ExportableDefinition {
  /** Repository types (pulp_type) these resources export. */
  repositoryTypes: string[];
  /** Resources in the order they are written and imported. */
  IMPORT_ORDER: ModelResource[];
}
