import type { PluginDefinition } from '@pith/plugin-api';
import { randomBytes } from 'node:crypto';
import type { PithConfig } from '../config/pith-config';
import { createDataSource, ensureDatabase } from '../db/data-source';
import { Db } from '../db/db';
import { setAdminPassword } from '../http/auth';

/**
 * Creates the database if needed, applies pending core and plugin migrations, and makes sure an
 * admin user exists (password from PITH_ADMIN_PASSWORD; otherwise a random one is generated once
 * and returned so the caller can print it).
 */
export async function migrate(config: PithConfig, plugins: PluginDefinition[]): Promise<{ applied: string[]; generatedPassword?: string }> {
  await ensureDatabase(config.DATABASE_URL);
  const ds = createDataSource(config.DATABASE_URL, plugins, 2);
  await ds.initialize();
  try {
    // Serialize concurrent `pith migrate`/`start` runs on one database.
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(7345002)');
      const applied = await ds.runMigrations({ transaction: 'each' });
      const db = new Db(ds);
      let generatedPassword: string | undefined;
      if (config.PITH_ADMIN_PASSWORD) {
        await setAdminPassword(db, config.PITH_ADMIN_PASSWORD);
      } else {
        const existing = await db.one("SELECT id FROM core_user WHERE username = 'admin'");
        if (!existing) {
          generatedPassword = randomBytes(12).toString('base64url');
          await setAdminPassword(db, generatedPassword);
        }
      }
      return { applied: applied.map((m) => m.name), generatedPassword };
    } finally {
      await runner.query('SELECT pg_advisory_unlock(7345002)').catch(() => undefined);
      await runner.release();
    }
  } finally {
    await ds.destroy();
  }
}
