import {
  ArrayMaxSize, IsArray, IsBoolean, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, ValidateBy, ValidateIf,
  type ValidationOptions,
} from 'class-validator';
import type { ClassType } from '@pith/plugin-api';

// Task names and payloads: the endpoints dispatch them, the task handlers (export.task.ts, …) run them.
export const EXPORT_TASK = 'core.export';
export const IMPORT_TASK = 'core.import';
export const IMPORT_REPOSITORY_TASK = 'core.import-repository';

/** A repository version chosen at request time (complete, of one of the exporter's repositories). */
export interface VersionChoice {
  repository_id: string;
  version_id: string;
}

/**
 * Payload of `core.export`. Locks: the exporter href exclusively, each repository href shared.
 * `versions` has exactly one entry per exporter repository (ordered by repository name).
 * `start_versions` (explicit incremental bases) is null unless given; `from_last_export` is true
 * for `full=false` without start_versions: the task takes the bases from the last export's
 * `exported_versions` (a repository missing there goes in full).
 */
export interface ExportTaskPayload {
  exporter_id: string;
  versions: VersionChoice[];
  start_versions: VersionChoice[] | null;
  from_last_export: boolean;
  /** Bytes (parsed and bounded); null = one tar. */
  chunk_size: number | null;
  meta: Record<string, unknown> | null;
  dry_run: boolean;
  /** The request body as given (stored as the export's `params`). */
  params: Record<string, unknown>;
}

/**
 * Payload of `core.import`, dispatched in task group `task_group_id` with the importer href locked
 * exclusively. The PulpImport row `import_id` already exists (task_id set right after dispatch);
 * `path` / `toc` (exactly one set) are realpaths that were inside PITH_ALLOWED_IMPORT_PATHS and
 * regular files at request time. The group is created with `all_tasks_dispatched = false`: the
 * task sets it once it has dispatched its children (also when it fails).
 */
export interface ImportTaskPayload {
  importer_id: string;
  import_id: string;
  path: string | null;
  toc: string | null;
  create_repositories: boolean;
  dry_run: boolean;
  task_group_id: string;
}

/** OpenAPI component names are the class names: Pulp's (`PulpExporter`, …), not the TS ones. */
function schemaName(cls: ClassType, name: string): void {
  Object.defineProperty(cls, 'name', { value: name });
}

/** Optional but not nullable: absent is fine, an explicit null is validated (and refused). */
const defined = (prop: string) => ValidateIf((o: Record<string, unknown>) => o[prop] !== undefined);

/** An object of string → string (names, at most 255 characters each). */
function IsNameMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNameMap',
      validator: {
        validate: (v: unknown) =>
          !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length <= 10_000 &&
          Object.entries(v as Record<string, unknown>).every(([k, x]) => k.length > 0 && k.length <= 255 && typeof x === 'string' && x.length > 0 && x.length <= 255),
        defaultMessage: () => 'Must be an object mapping repository names to repository names (non-empty strings).',
      },
    },
    options,
  );
}

/** A string ("10MB") or an integer of bytes; the value itself is parsed by `parseChunkSize`. */
function IsStringOrInteger(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrInteger',
      validator: {
        validate: (v: unknown) => (typeof v === 'string' && v.length <= 64) || Number.isInteger(v),
        defaultMessage: () => 'Must be a size such as "10MB" or an integer number of bytes.',
      },
    },
    options,
  );
}

const MAX_REPOSITORIES = 1000;

/** Body of `exporters_core_pulp_create` / `_update`. */
export class PulpExporterBody {
  /** Unique name of the exporter. */
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  /** Directory the exports are written to: absolute, inside PITH_ALLOWED_EXPORT_PATHS. */
  @IsString() @IsNotEmpty() @MaxLength(4096) path: string;
  /** Hrefs of the repositories to export. */
  @IsArray() @ArrayMaxSize(MAX_REPOSITORIES) @IsString({ each: true }) repositories: string[];
  /** Href of an export of this exporter: the base of the next incremental export. */
  @IsOptional() @IsString() last_export?: string | null;
}
schemaName(PulpExporterBody, 'PulpExporter');

/** Body of `exporters_core_pulp_exports_create` (every field optional). */
export class PulpExportBody {
  /** Full (true, default) or incremental (false) export. */
  @defined('full') @IsBoolean() full?: boolean;
  /** Repository version hrefs to export, one per exporter repository; default: each latest version. */
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_REPOSITORIES) @IsString({ each: true }) versions?: string[] | null;
  /** Base versions of an incremental export, one per exporter repository (replaces last_export). */
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_REPOSITORIES) @IsString({ each: true }) start_versions?: string[] | null;
  /** Split the tar into pieces of this size: "10MB", "1.5GB" or a number of bytes (B/KB/MB/GB/TB, at most 1TB). */
  @IsOptional() @IsStringOrInteger() chunk_size?: string | number | null;
  /** Free-form information stored in the TOC. */
  @defined('meta') @IsObject() meta?: Record<string, unknown>;
  /** Only report what would be exported (counts, bytes); write nothing. */
  @defined('dry_run') @IsBoolean() dry_run?: boolean;
}
schemaName(PulpExportBody, 'PulpExport');

/** Body of `importers_core_pulp_create` / `_update`. */
export class PulpImporterBody {
  /** Unique name of the importer. */
  @IsString() @IsNotEmpty() @MaxLength(255) name: string;
  /** Upstream repository name → local repository name; every local repository must exist. */
  @defined('repo_mapping') @IsObject() @IsNameMap() repo_mapping?: Record<string, string>;
}
schemaName(PulpImporterBody, 'PulpImporter');

/** Body of `importers_core_pulp_imports_create`: exactly one of `path` and `toc`. */
export class PulpImportBody {
  /** Export tar to import (absolute, inside PITH_ALLOWED_IMPORT_PATHS). */
  @IsOptional() @IsString() @MaxLength(4096) path?: string | null;
  /** TOC file of a chunked export (absolute, inside PITH_ALLOWED_IMPORT_PATHS); the chunks lie beside it. */
  @IsOptional() @IsString() @MaxLength(4096) toc?: string | null;
  /** Create repositories missing locally (not with a non-empty repo_mapping). Default false. */
  @defined('create_repositories') @IsBoolean() create_repositories?: boolean;
  /** Validate and report what the import would do; write nothing. Default false. */
  @defined('dry_run') @IsBoolean() dry_run?: boolean;
}
schemaName(PulpImportBody, 'PulpImport');

/** Body of `pulp_import_check_post`: at least one field. */
export class PulpImportCheckBody {
  @IsOptional() @IsString() @MaxLength(4096) path?: string | null;
  @IsOptional() @IsString() @MaxLength(4096) toc?: string | null;
  /** A JSON **string** holding the mapping object (as Pulp takes it). */
  @IsOptional() @IsString() @MaxLength(1_000_000) repo_mapping?: string | null;
}
schemaName(PulpImportCheckBody, 'PulpImportCheck');
