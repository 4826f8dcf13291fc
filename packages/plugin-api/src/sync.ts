import type { Row } from './serialized';
import type { ArtifactInfo, CompletedVersion } from './task-services';

/** What a remote says about where and how to fetch (secrets included: only tasks see this). */
export interface RemoteInfo {
  pulp_id: string;
  pulp_type: string;
  href: string;
  name: string;
  url: string;
  policy: 'immediate' | 'on_demand' | 'streamed';
  download_concurrency: number | null;
  max_retries: number | null;
  headers: Array<Record<string, string>>;
  username: string | null;
  password: string | null;
  tls_validation: boolean;
  ca_cert: string | null;
  client_cert: string | null;
  client_key: string | null;
  proxy_url: string | null;
  proxy_username: string | null;
  proxy_password: string | null;
  total_timeout: number | null;
  connect_timeout: number | null;
  sock_connect_timeout: number | null;
  sock_read_timeout: number | null;
  rate_limit: number | null;
  /** The type's detail columns. */
  detail: Row;
}

export interface ExpectedDigests {
  size?: number;
  md5?: string;
  sha1?: string;
  sha224?: string;
  sha256?: string;
  sha384?: string;
  sha512?: string;
}

/** One artifact of a declarative unit: where to get it and what it must be. */
export interface DeclarativeArtifact {
  url: string;
  relativePath: string;
  expected: ExpectedDigests;
  /** Do not download now (on_demand / streamed): only remember where it lives. */
  deferred?: boolean;
}

/** A unit as upstream describes it, before it exists here. */
export interface DeclarativeContent {
  pulpType: string;
  /** Detail columns (at least the natural key). */
  detail: Row;
  artifacts: DeclarativeArtifact[];
  pulpLabels?: Record<string, string>;
}

/** HTTP access configured from a remote: pooled connections, bounded concurrency, retries, verification. */
export interface Downloader {
  /** Streams a URL (metadata); retried on 429/5xx/network errors before any byte is returned. */
  open(url: string, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** Downloads into artifact storage, verifying size and digests; retried per `max_retries`. */
  download(url: string, expected: ExpectedDigests, signal?: AbortSignal): Promise<ArtifactInfo>;
}

export interface SyncRunOptions {
  repositoryId: string;
  remote: RemoteInfo;
  /** Remove units upstream no longer lists. */
  mirror: boolean;
  /** The task's cancellation signal (`ctx.signal`): stops downloads and the pipeline promptly. */
  signal?: AbortSignal;
}

export interface SyncStats {
  version: CompletedVersion | null;
  contentSeen: number;
  artifactsDownloaded: number;
  /** Units newly added to the version. */
  contentAdded: number;
  /** Units removed because upstream no longer lists them (mirror). */
  contentRemoved: number;
}

/**
 * The standard sync pipeline: the plugin's first stage yields declarative content; the platform
 * queries existing artifacts and content in batches, downloads with bounded concurrency, saves,
 * records remote artifacts and associates (and unassociates when mirroring) into one new version.
 */
export interface SyncService {
  remote(remoteId: string): Promise<RemoteInfo>;
  downloader(remote: RemoteInfo): Downloader;
  run(opts: SyncRunOptions, firstStage: AsyncIterable<DeclarativeContent>): Promise<SyncStats>;
}
