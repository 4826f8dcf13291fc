import type { Row } from './serialized';

/** One content artifact of a repository version, as a publisher walks it. */
export interface VersionContentArtifact {
  content_id: string;
  pulp_type: string;
  content_artifact_id: string;
  relative_path: string;
  artifact_id: string | null;
  /** The artifact's sha256, or the expected one of an on-demand unit (from its remote artifact). */
  sha256: string | null;
  size: number | null;
}

export interface PublicationBuilder {
  readonly publicationId: string;
  readonly repositoryVersionId: string;
  /** Streams the version's content artifacts in batches (ordered by relative path). */
  contentArtifacts(batchSize?: number): AsyncIterable<VersionContentArtifact[]>;
  /** Publishes content artifacts at relative paths (batched insert). */
  addPublishedArtifacts(items: Array<{ contentArtifactId: string; relativePath: string }>): Promise<void>;
  /** Stores a generated file (temp path, moved into artifact storage) as published metadata. */
  addMetadata(relativePath: string, tempFilePath: string): Promise<void>;
}

export interface PublicationCreateOptions {
  pulpType: string;
  repositoryVersionId: string;
  /** Serve every content artifact of the version by its relative path. */
  passThrough?: boolean;
  /** The type's detail columns. */
  detail?: Row;
}

/** What `reuseExisting` compares: a complete publication of this type, of this version, with these detail values. */
export interface PublicationMatch {
  pulpType: string;
  repositoryVersionId: string;
  /** Detail columns that must be equal (e.g. `{manifest: 'PULP_MANIFEST'}`); omitted = any. */
  detail?: Row;
  passThrough?: boolean;
}

export interface PublicationService {
  /**
   * Builds a publication; it becomes visible only when `build` succeeds, and is removed otherwise.
   * The new publication's href is recorded in the task's `created_resources`.
   */
  create(opts: PublicationCreateOptions, build: (b: PublicationBuilder) => Promise<void>): Promise<{ pulp_id: string; href: string }>;
  /**
   * Skip helper for publishing an unchanged version again: returns the newest complete publication
   * matching `match` (recording it in the task's `created_resources`, so clients waiting for a
   * publication href get one), or null when a new one must be built. A plugin calls it unless the
   * request asked to force a new publication.
   */
  reuseExisting(match: PublicationMatch): Promise<{ pulp_id: string; href: string } | null>;
}

/**
 * Payload the platform dispatches to a publication type's `publishTask` for
 * `POST publications/<plugin>/<type>/`: these fields plus the type's DTO fields (only those given).
 * The task's payload class must declare all of them (payloads are validated strictly); the platform
 * takes a shared lock on `repository_href`.
 */
export interface PublishTaskPayload {
  repository_id: string;
  repository_href: string;
  /** The resolved version (the repository's latest complete version when only `repository` was given). */
  repository_version_id: string;
  /** pulp_type of the publication to build (`file.file`). */
  publication_type: string;
}
