import type { ConnectionOptions } from 'bullmq';

/** Wake-up queue name, per database, so several installations (or test runs) can share one Redis. */
export function wakeQueueName(databaseUrl: string): string {
  const db = new URL(databaseUrl).pathname.replace(/^\//, '') || 'pith';
  return `pith-wakeup-${db.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
}

/** BullMQ connection options from a redis:// URL; fail fast instead of queueing commands forever. */
export function redisConnectionOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(times * 500, 5000),
  };
}
