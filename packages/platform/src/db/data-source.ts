import { DataSource } from 'typeorm';
import { Client } from 'pg';
import type { PluginDefinition } from '@pith/plugin-api';
import { CORE_ENTITIES } from './entities';
import { CORE_MIGRATIONS } from './migrations';

export function createDataSource(url: string, plugins: PluginDefinition[], poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: [...CORE_ENTITIES, ...plugins.flatMap((p) => p.entities ?? [])],
    migrations: [...CORE_MIGRATIONS, ...plugins.flatMap((p) => p.migrations ?? [])],
    migrationsTableName: 'pith_migrations',
    synchronize: false,
    logging: false,
    extra: { max: poolSize, application_name: 'pith' },
  });
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } catch (e) {
    // Another process may have created it concurrently.
    if ((e as { code?: string }).code !== '42P04') throw e;
  } finally {
    await client.end();
  }
}
