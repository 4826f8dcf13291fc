import type { ExportSet } from '@pith/plugin-api';

/** Archive format written by this version; importers refuse others. */
export const EXPORT_FORMAT = 'pith-export';
export const EXPORT_FORMAT_VERSION = 1;
/** First tar member: this manifest (also copied into the TOC). */
export const MANIFEST_MEMBER = 'pith-export.json';
/** Second member: one `{"sha256","size"}` line per artifact blob, in the order the blobs follow. */
export const ARTIFACT_LIST_MEMBER = 'artifacts.jsonl';
/** Artifact blobs: `artifact/<2 hex>/<62 hex>` (their storage path). */
export const ARTIFACT_MEMBER = /^artifact\/([0-9a-f]{2})\/([0-9a-f]{62})$/;

/** One JSON-lines member: the rows one ModelResource wrote for one set of one repository. */
export interface ManifestMember {
  name: string;
  resource: string;
  set: ExportSet;
  rows: number;
  size: number;
  sha256: string;
}

export interface ManifestRepository {
  /** Position in `repositories`; members live under `repository-<index>/` (names never enter paths). */
  index: number;
  name: string;
  pulp_type: string;
  plugin: string;
  description: string | null;
  /** Exported (upstream) version number. */
  version: number;
  /** Base version of an incremental export (null: full). */
  base_version: number | null;
  /** Fingerprint of the base version's content (see fingerprint.ts); the importer's guard. */
  base_fingerprint: string | null;
  /** Fingerprint of the exported version's content: what the downstream must equal afterwards. */
  fingerprint: string;
  content_count: number;
  added_count: number | null;
  removed_count: number | null;
  members: ManifestMember[];
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  format_version: number;
  created: string;
  export_id: string;
  exporter: string;
  /** Versions of core and of each exported repository's plugin. */
  components: Record<string, string>;
  incremental: boolean;
  artifacts: { count: number; bytes: number; list_sha256: string };
  repositories: ManifestRepository[];
}

export function memberName(repoIndex: number, resource: string, set: ExportSet): string {
  return `repository-${repoIndex}/${resource}.${set}.jsonl`;
}

/** `3.90.1` → `3.90`: exports are importable between equal major.minor versions (Pulp's rule). */
export function majorMinor(v: string): string {
  return v.split('.').slice(0, 2).join('.');
}
