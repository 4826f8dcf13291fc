import type { ClassType } from './plugin';
import type { FilterSet } from './filters';
import type { JsonObject, Row } from './serialized';
import type { ArtifactInfo } from './task-services';

/**
 * A content type. Its detail table's primary key `content_ptr_id` is also a foreign key to
 * `core_content.pulp_id` (class-table inheritance, done explicitly).
 */
export interface ContentTypeDefinition {
  /** `file` → pulp_type `file.file`. */
  type: string;
  /** URL segment: `content/<plugin>/<endpoint>/`, e.g. `files`. */
  endpoint: string;
  /** TypeORM entity of the detail table. */
  entity: ClassType;
  /** Detail columns that identify a unit globally (unique index; dedupe and import). */
  naturalKey: string[];
  /** Detail columns that must be unique inside one repository version; a newer unit replaces the older. */
  repositoryKey: string[];
  /** How many artifacts one unit has. */
  artifacts: 'none' | 'one' | 'many';
  /** Detail-table fields as they appear in the API (besides the common content fields). */
  serialize(detail: Row): JsonObject;
  filters?: FilterSet;
  /** Serializer class name used in OpenAPI (`file.FileContent`). */
  schemaName?: string;
  /**
   * class-validator DTO of the type's own fields accepted by `POST content/<plugin>/<endpoint>/`
   * (besides the platform's `artifact`, `upload`, `file`, `relative_path`, `repository`,
   * `pulp_labels`). Only used together with `fromArtifact`.
   */
  createDto?: ClassType;
  /**
   * Enables content creation from one uploaded artifact (one-artifact types). Receives the
   * validated body (the platform's fields plus `createDto`'s) and the stored artifact; returns the
   * detail columns and the unit's relative path. Throw a TaskError for invalid input.
   */
  fromArtifact?(body: Row, artifact: ArtifactInfo): Promise<ContentFromArtifact> | ContentFromArtifact;
  /**
   * Request-time check of a create body's fields (`relative_path` and `createDto`'s), run before
   * the task is dispatched so bad input is a 400 rather than a failed task. Returns field →
   * messages, or null when the fields are acceptable. `fromArtifact` should still re-check.
   */
  validateCreate?(fields: Row): Record<string, string[]> | null;
}

/** What `fromArtifact` makes of an uploaded file. */
export interface ContentFromArtifact {
  detail: Row;
  relativePath: string;
}

/** Fields every content response carries; detail fields are merged in. */
export interface ContentCommonFields {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  pulp_labels: Record<string, string>;
}
