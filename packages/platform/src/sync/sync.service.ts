import type {
  DeclarativeContent, ProgressOptions, ProgressReporter, RemoteInfo, SyncRunOptions, SyncService, SyncStats,
} from '@pith/plugin-api';
import type { ContentStoreService } from '../content/content-store.service';
import type { FieldCipher } from '../config/field-cipher';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { PluginRegistry } from '../plugins/plugin-registry';
import type { DetailTables } from '../resources/detail-tables';
import type { RepositoryVersionService } from '../repositories/version.service';
import type { ArtifactStorageService } from '../storage/artifact-storage.service';
import { DbProgressReporter } from '../tasking/progress-reporter';
import { ReceivePool } from './receive-pool';
import { loadRemoteInfo } from './remote-info';
import { RemoteDownloader } from './remote-downloader';
import { SyncPipeline } from './sync-pipeline';

export interface SyncServiceDeps {
  db: Db;
  registry: PluginRegistry;
  detailTables: DetailTables;
  artifacts: ArtifactStorageService;
  content: ContentStoreService;
  versions: RepositoryVersionService;
  logger: Logger;
  allowedImportPaths: readonly string[];
  /** Opens the remote's encrypted secret columns. */
  secrets: FieldCipher;
}

/** Remotes whose downloaders (connection pools) are kept between calls in one process. */
const MAX_CACHED_DOWNLOADERS = 32;

/** Process-wide state shared by every task-bound view of the service. */
class SharedState {
  readonly downloaders = new Map<string, { key: string; downloader: RemoteDownloader }>();
  pool: ReceivePool | null = null;
}

const NOOP_REPORTER: ProgressReporter = { increment() {}, setTotal() {}, async done() {} };

/** What identifies a remote's HTTP configuration: a changed remote gets a new pool. */
function configKey(r: RemoteInfo): string {
  const { detail: _detail, href: _href, name: _name, policy: _policy, ...http } = r;
  return JSON.stringify(http);
}

/**
 * The platform's sync service (plugin-api SyncService). One per process (`p.sync`); tasks see a
 * view bound to their id (`forTask`) so versions are recorded for cleanup and progress reports
 * land on the task. Downloaders are cached per remote: one keep-alive pool and one concurrency
 * limit per remote, shared by every sync in the process that uses it.
 */
export class PlatformSyncService implements SyncService {
  private readonly shared: SharedState;

  constructor(private readonly deps: SyncServiceDeps, readonly taskId: string | null = null, shared?: SharedState) {
    this.shared = shared ?? new SharedState();
  }

  forTask(taskId: string): PlatformSyncService {
    return new PlatformSyncService({ ...this.deps, versions: this.deps.versions.forTask(taskId) }, taskId, this.shared);
  }

  remote(remoteId: string): Promise<RemoteInfo> {
    return loadRemoteInfo(this.deps.db, this.deps.registry, this.deps.detailTables, this.deps.secrets, remoteId);
  }

  downloader(remote: RemoteInfo): RemoteDownloader {
    const key = configKey(remote);
    const cache = this.shared.downloaders;
    const hit = cache.get(remote.pulp_id);
    if (hit && hit.key === key) {
      // Re-insert: the Map's order is the LRU order.
      cache.delete(remote.pulp_id);
      cache.set(remote.pulp_id, hit);
      return hit.downloader;
    }
    const downloader = new RemoteDownloader(remote, {
      artifacts: this.deps.artifacts,
      allowedImportPaths: this.deps.allowedImportPaths,
      logger: this.deps.logger,
      pool: this.receivePool(),
    });
    cache.delete(remote.pulp_id);
    cache.set(remote.pulp_id, { key, downloader });
    // Replaced or evicted downloaders are not closed: a sync may still be using one, and their
    // idle keep-alive sockets close by themselves (keepAliveTimeout).
    while (cache.size > MAX_CACHED_DOWNLOADERS) cache.delete(cache.keys().next().value as string);
    return downloader;
  }

  /** The process's file-writing hash workers (downloads, and imports of archived artifacts). */
  receivePool(): ReceivePool {
    return (this.shared.pool ??= new ReceivePool());
  }

  async run(opts: SyncRunOptions, firstStage: AsyncIterable<DeclarativeContent>): Promise<SyncStats> {
    const taskId = this.taskId;
    const pipeline = new SyncPipeline(
      {
        db: this.deps.db,
        content: this.deps.content,
        versions: this.deps.versions,
        logger: this.deps.logger,
        isContentType: (t: string) => this.deps.registry.contentTypes.has(t),
        progress: (o: ProgressOptions) => (taskId ? DbProgressReporter.start(this.deps.db, taskId, o) : Promise.resolve(NOOP_REPORTER)),
      },
      this.downloader(opts.remote),
      opts,
    );
    const stats = await pipeline.run(firstStage);
    if (stats.version && taskId) {
      // Like Pulp: the new version is a created resource of the sync task.
      await this.deps.db.query(
        `UPDATE core_task SET created_resources = array_append(created_resources, $2) WHERE pulp_id = $1 AND NOT ($2 = ANY(created_resources))`,
        [taskId, stats.version.href],
      );
    }
    return stats;
  }

  /** Closes cached connection pools and hash workers (process shutdown). */
  async close(): Promise<void> {
    const all = [...this.shared.downloaders.values()];
    this.shared.downloaders.clear();
    await Promise.all(all.map((d) => d.downloader.close()));
    const pool = this.shared.pool;
    this.shared.pool = null;
    await pool?.close();
  }
}
