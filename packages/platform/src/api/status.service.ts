import { statfs } from 'node:fs/promises';
import * as path from 'node:path';
import Redis from 'ioredis';
import type { PithConfig } from '../config/pith-config';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { PluginRegistry } from '../plugins/plugin-registry';

/** How long a status probe (database, Redis) may take before it counts as "not connected". */
const PROBE_TIMEOUT_MS = 1500;

export interface ComponentVersion {
  component: string;
  version: string;
  package: string;
  module: string;
  domain_compatible: boolean;
}

export interface OnlineApp {
  name: string;
  last_heartbeat: string;
  versions: Record<string, string>;
}

export interface StatusReport {
  versions: ComponentVersion[];
  online_workers: OnlineApp[];
  online_api_apps: OnlineApp[];
  online_content_apps: OnlineApp[];
  database_connection: { connected: boolean };
  redis_connection: { connected: boolean };
  storage: { total: number | null; used: number | null; free: number | null };
  content_settings: { content_origin: string | null; content_path_prefix: string };
  domain_enabled: boolean;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `/status/`: what Pulp reports, gathered so that a failing dependency shows as `connected: false`
 * instead of an error (monitoring reads this page precisely when something is down).
 */
export class StatusService {
  private redis: Redis | undefined;

  constructor(
    private readonly config: PithConfig,
    private readonly db: Db,
    private readonly registry: PluginRegistry,
    private readonly logger: Logger,
  ) {}

  /** Same components and strings as `info.x-pulp-app-versions` (pulp-cli compares them). */
  versions(coreVersion: string): ComponentVersion[] {
    const byId = new Map(this.registry.plugins.map((p) => [p.id, p]));
    return Object.entries(this.registry.componentVersions(coreVersion)).map(([component, version]) => {
      const plugin = byId.get(component);
      return {
        component,
        version,
        package: component === 'core' ? 'pulpcore' : plugin?.packageName ?? `pulp-${component}`,
        module: component === 'core' ? 'pulpcore.app' : `pulp_${component}.app`,
        domain_compatible: true,
      };
    });
  }

  async report(coreVersion: string): Promise<StatusReport> {
    const [apps, redisOk, storage] = await Promise.all([this.onlineApps(), this.pingRedis(), this.storage()]);
    return {
      versions: this.versions(coreVersion),
      online_workers: apps.worker,
      online_api_apps: apps.api,
      online_content_apps: apps.content,
      database_connection: { connected: apps.connected },
      redis_connection: { connected: redisOk },
      storage,
      content_settings: {
        content_origin: this.config.PITH_CONTENT_ORIGIN ?? null,
        content_path_prefix: this.config.PITH_CONTENT_PATH_PREFIX,
      },
      domain_enabled: false,
    };
  }

  /** Processes whose last heartbeat is within their own ttl; the query doubles as the DB probe. */
  private async onlineApps(): Promise<{ connected: boolean; worker: OnlineApp[]; api: OnlineApp[]; content: OnlineApp[] }> {
    const out = { connected: false, worker: [] as OnlineApp[], api: [] as OnlineApp[], content: [] as OnlineApp[] };
    try {
      const rows = await withTimeout(
        this.db.query<{ name: string; app_type: string; last_heartbeat: Date; versions: Record<string, string> }>(
          `SELECT name, app_type, last_heartbeat, versions FROM core_appstatus
            WHERE last_heartbeat >= now() - make_interval(secs => ttl)
            ORDER BY app_type, name`,
        ),
        PROBE_TIMEOUT_MS,
      );
      out.connected = true;
      for (const r of rows) {
        const app: OnlineApp = { name: r.name, last_heartbeat: new Date(r.last_heartbeat).toISOString(), versions: r.versions ?? {} };
        if (r.app_type === 'worker' || r.app_type === 'api' || r.app_type === 'content') out[r.app_type].push(app);
      }
    } catch (e) {
      this.logger.warn('status: database probe failed', { error: (e as Error).message });
    }
    return out;
  }

  private async pingRedis(): Promise<boolean> {
    try {
      const r = (this.redis ??= this.createRedis());
      await this.ready(r);
      return (await withTimeout(r.ping(), PROBE_TIMEOUT_MS)) === 'PONG';
    } catch (e) {
      this.logger.debug('status: redis probe failed', { error: (e as Error).message });
      return false;
    }
  }

  /** Waits (bounded) for the shared client to be connected; concurrent callers share one attempt. */
  private async ready(r: Redis): Promise<void> {
    if (r.status === 'ready') return;
    if (r.status === 'wait') void r.connect().catch(() => undefined);
    let onReady: (() => void) | undefined;
    try {
      await withTimeout(new Promise<void>((resolve) => r.once('ready', (onReady = resolve))), PROBE_TIMEOUT_MS);
    } finally {
      if (onReady) r.off('ready', onReady);
    }
  }

  private createRedis(): Redis {
    const client = new Redis(this.config.REDIS_URL, {
      lazyConnect: true,
      connectTimeout: PROBE_TIMEOUT_MS,
      // Fail fast instead of queueing commands while disconnected; reconnects happen in the background.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(times * 500, 5000),
    });
    client.on('error', () => undefined); // reported through ping(); avoid unhandled 'error' events
    return client;
  }

  /** Disk usage of the filesystem holding the media root (or its closest existing parent). */
  private async storage(): Promise<StatusReport['storage']> {
    let dir = this.config.mediaRoot;
    for (;;) {
      try {
        const s = await statfs(dir);
        const total = s.blocks * s.bsize;
        return { total, used: total - s.bfree * s.bsize, free: s.bavail * s.bsize };
      } catch {
        const parent = path.dirname(dir);
        if (parent === dir) return { total: null, used: null, free: null };
        dir = parent;
      }
    }
  }

  async close(): Promise<void> {
    const r = this.redis;
    this.redis = undefined;
    if (r) r.disconnect();
  }
}
