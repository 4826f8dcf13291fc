import type { Row } from './serialized';

/** One content artifact of a repository version, as a publisher walks it. */
export interface VersionContentArtifact {
  content_id: string;
  pulp_type: string;
  content_artifact_id: string;
  relative_path: string;
  artifact_id: string | null;
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

export interface PublicationService {
  /** Builds a publication; it becomes visible only when `build` succeeds, and is removed otherwise. */
  create(opts: PublicationCreateOptions, build: (b: PublicationBuilder) => Promise<void>): Promise<{ pulp_id: string; href: string }>;
}
