import * as os from 'node:os';
import type { Platform } from '../platform';
import { uuid7 } from '../util/uuid7';

/** Heartbeats an api/content process into core_appstatus (shown by status/); returns a stopper. */
export function startAppHeartbeat(p: Platform, appType: 'api' | 'content', ttlSeconds: number): () => Promise<void> {
  const name = `${appType}-${process.pid}@${os.hostname()}-${uuid7().slice(-6)}`;
  const beat = () =>
    p.db
      .query(
        `INSERT INTO core_appstatus (pulp_id, name, app_type, last_heartbeat, versions, ttl)
         VALUES ($1, $2, $3, now(), $4, $5)
         ON CONFLICT (name) DO UPDATE SET last_heartbeat = now(), pulp_last_updated = now()`,
        [uuid7(), name, appType, JSON.stringify(p.componentVersions()), ttlSeconds],
      )
      .catch((e) => p.logger.warn('heartbeat failed', { error: (e as Error).message }));
  void beat();
  const timer = setInterval(() => void beat(), (ttlSeconds * 1000) / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await p.db.query('DELETE FROM core_appstatus WHERE name = $1', [name]).catch(() => undefined);
  };
}
