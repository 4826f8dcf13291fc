import { Client } from 'pg';
import IORedis from 'ioredis';
import type { PithConfig } from '@pith/platform';

const redact = (url: string) => url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');

/** Fails fast with one line naming the unreachable service and what to start. */
export async function preflight(config: PithConfig): Promise<void> {
  const adminUrl = new URL(config.DATABASE_URL);
  adminUrl.pathname = '/postgres';
  const pg = new Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5000 });
  try {
    await pg.connect();
    await pg.query('SELECT 1');
  } catch (e) {
    throw new Error(`cannot reach PostgreSQL at ${redact(config.DATABASE_URL)} (${(e as Error).message}): start PostgreSQL or set DATABASE_URL`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  const redis = new IORedis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    throw new Error(`cannot reach Redis at ${redact(config.REDIS_URL)} (${(e as Error).message}): start Redis or set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}
