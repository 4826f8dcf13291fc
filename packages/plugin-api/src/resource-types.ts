import type { ClassType } from './plugin';
import type { JsonObject, Row } from './serialized';
import type { FilterSet } from './filters';

/**
 * Common shape of master/detail resources (repositories, remotes, publications, distributions).
 * Core columns live in `core_<kind>`; a type's extra columns live in its own detail table whose
 * primary key (`<kind>_ptr_id`) references the master row. A type with no extra columns has no
 * detail entity.
 */
export interface DetailResourceDefinition {
  /** `file` → pulp_type `<plugin>.file`, URL `<kind>/<plugin>/<endpoint>/`. */
  type: string;
  /** URL segment; defaults to `type`. */
  endpoint?: string;
  /** Detail table entity (optional). */
  entity?: ClassType;
  /**
   * class-validator DTO of the detail-only fields accepted on create/update (the core fields are
   * the platform's). Its properties must be the detail table's columns.
   */
  dto?: ClassType;
  /** Detail fields for responses; defaults to copying the detail columns. */
  serialize?(detail: Row): JsonObject;
  filters?: FilterSet;
}

export interface RepositoryTypeDefinition extends DetailResourceDefinition {
  /** pulp_types of content this repository accepts (`file.file`). */
  contentTypes: string[];
  /**
   * Task name run by `<href>sync/`; absent = no sync endpoint. The platform validates the body,
   * resolves the remote (body `remote`, else the repository's) and dispatches this task with a
   * `SyncTaskPayload` (the repository locked exclusively, the remote shared).
   */
  syncTask?: string;
  /**
   * class-validator DTO of the sync body (besides `remote` and `mirror`). Its validated fields
   * (with the DTO's property initializers as defaults) are spread into the `SyncTaskPayload`.
   */
  syncDto?: ClassType;
  /** pulp_types of remotes accepted for sync. */
  remoteTypes?: string[];
}

export interface RemoteTypeDefinition extends DetailResourceDefinition {
  /** Allowed `policy` values; the first is the default. */
  policies?: Array<'immediate' | 'on_demand' | 'streamed'>;
}

export interface PublicationTypeDefinition extends DetailResourceDefinition {
  /**
   * Task name run when a publication is requested (`POST publications/<plugin>/<endpoint>/`),
   * dispatched with a `PublishTaskPayload` (the repository locked shared).
   */
  publishTask?: string;
}

/**
 * What the platform's generic `<repo_href>sync/` endpoint dispatches to `syncTask`: the core
 * fields below plus the validated `syncDto` fields at top level (e.g. `optimize`).
 */
export interface SyncTaskPayload {
  repository_id: string;
  repository_href: string;
  remote_id: string;
  remote_href: string;
  /** Remove units upstream no longer lists. */
  mirror: boolean;
}

export interface DistributionTypeDefinition extends DetailResourceDefinition {
  /** Serve from the publication (true) or straight from a repository version (false). */
  serveFromPublication: boolean;
}
