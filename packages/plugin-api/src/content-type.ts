import type { ClassType } from './plugin';
import type { FilterSet } from './filters';
import type { JsonObject, Row } from './serialized';

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
}

/** Fields every content response carries; detail fields are merged in. */
export interface ContentCommonFields {
  pulp_href: string;
  prn: string;
  pulp_created: string;
  pulp_last_updated: string;
  pulp_labels: Record<string, string>;
}
