import type { Row } from './serialized';
import type { SyncService } from './sync';
import type { PublicationService } from './publication';

/** Data access handed to plugin code; SQL is parameterised ($1, $2 …). */
export interface DataAccess {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  transaction<T>(fn: (tx: DataAccess) => Promise<T>): Promise<T>;
}

export interface ArtifactInfo {
  pulp_id: string;
  size: number;
  sha256: string;
  md5: string | null;
  sha1: string | null;
  sha224: string | null;
  sha384: string | null;
  sha512: string | null;
  /** Storage-relative path (`artifact/ab/cdef…`). */
  file: string;
}

export interface ArtifactStore {
  /** Streams into storage, hashing once; verifies the expected digests/size before it is visible. */
  saveStream(src: NodeJS.ReadableStream, expected?: { size?: number; sha256?: string }): Promise<ArtifactInfo>;
  /** Moves an already-written temp file into storage after hashing it. */
  saveFile(tempPath: string, expected?: { size?: number; sha256?: string }): Promise<ArtifactInfo>;
  /** Absolute local path of a stored artifact (filesystem storage). */
  localPath(file: string): string;
  openRead(file: string, range?: { start: number; end: number }): NodeJS.ReadableStream;
  /** A temp file path inside the storage's temp area (same filesystem as the artifacts). */
  tempPath(): string;
}

/** A unit about to be saved: detail columns plus its artifacts (by relative path). */
export interface UnsavedContent {
  pulpType: string;
  detail: Row;
  artifacts: Array<{ relativePath: string; artifactId: string | null }>;
  pulpLabels?: Record<string, string>;
}

export interface ContentStore {
  /**
   * Saves units in one batch, deduplicating on each type's natural key (existing rows are reused
   * and touched). Returns the content ids in input order.
   */
  saveBatch(units: UnsavedContent[]): Promise<string[]>;
}

export interface NewVersionOptions {
  /** Start from this version's content instead of the latest. */
  baseVersion?: number;
}

export interface RepositoryVersionBuilder {
  readonly repositoryId: string;
  readonly number: number;
  /** Adds units (ids); already-present ones are ignored. Call in batches. Returns how many were newly added. */
  add(contentIds: string[]): Promise<number>;
  /** Removes units; `'*'` removes everything. */
  remove(contentIds: string[] | '*'): Promise<void>;
  /** Content ids present in the base version, streamed in batches (for mirror syncs). */
  presentContentIds(batchSize?: number): AsyncIterable<string[]>;
  /**
   * Mirror support: records units as seen (kept by `removeUnseen`). Seen ids are held in the
   * database, not in memory, so a mirror of any size costs the same memory.
   */
  markSeen(contentIds: string[]): Promise<void>;
  /** Removes every unit of the base version never passed to `markSeen` (set-based); returns how many. */
  removeUnseen(): Promise<number>;
}

export interface CompletedVersion {
  number: number;
  href: string;
}

export interface VersionService {
  /**
   * Creates the next version of a repository (the caller must hold the repository's exclusive lock):
   * runs `build`, deduplicates by repository keys, counts, and completes it. Returns null (and keeps
   * no version) when nothing changed. On error the incomplete version is removed.
   */
  create(
    repositoryId: string,
    build: (v: RepositoryVersionBuilder) => Promise<void>,
    options?: NewVersionOptions,
  ): Promise<CompletedVersion | null>;
}

export interface TaskServices {
  readonly db: DataAccess;
  readonly artifacts: ArtifactStore;
  readonly content: ContentStore;
  readonly versions: VersionService;
  readonly sync: SyncService;
  readonly publications: PublicationService;
}
