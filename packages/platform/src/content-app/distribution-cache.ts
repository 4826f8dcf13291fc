import type { Platform } from '../platform';
import type { GuardRecord } from '../distributions/content-guard.service';
import { LruCache } from './lru-cache';

/** What the content app needs to know about a distribution. */
export interface ServedDistribution {
  id: string;
  pulpType: string;
  basePath: string;
  hidden: boolean;
  serveFromPublication: boolean;
  guard: GuardRecord | null;
  publicationId: string | null;
  repositoryId: string | null;
  repositoryVersionId: string | null;
}

/**
 * What a distribution serves right now. Publications and versions are immutable once complete,
 * so everything resolved below a target (`key`) can be cached for good.
 */
export type ServeTarget =
  | { kind: 'publication'; key: string; publicationId: string; passThrough: boolean; repositoryId: string; versionNumber: number; created: Date }
  | { kind: 'version'; key: string; versionId: string; repositoryId: string; versionNumber: number; created: Date }
  | { kind: 'none'; reason: string };

const BASE_PATH_ENTRIES = 20_000;
const TARGET_ENTRIES = 20_000;

/**
 * In-process cache of base path → distribution and distribution → served target. Invalidation
 * polls a cheap signature (max `pulp_last_updated` and row count of distributions, publications,
 * repository versions and content guards) every `pollMs`: any create, update, completion or delete
 * changes it. A lookup that finds nothing is cached too (so probing unknown paths costs no query),
 * and is dropped by the same invalidation.
 */
export class DistributionCache {
  private readonly byBasePath = new LruCache<string, ServedDistribution | null>(BASE_PATH_ENTRIES);
  private readonly targets = new LruCache<string, ServeTarget>(TARGET_ENTRIES);
  /** Bumped on invalidation: results of queries started before it are not stored. */
  private generation = 0;
  private signature: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;

  constructor(private readonly p: Platform, private readonly pollMs: number) {}

  start(): void {
    if (this.timer || this.pollMs <= 0) return;
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => {
        this.polling = null;
      });
    }, this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  invalidate(): void {
    this.generation++;
    this.byBasePath.clear();
    this.targets.clear();
  }

  /** Checks the signature once; invalidates when it changed. */
  async poll(): Promise<void> {
    try {
      const row = await this.p.db.one<{ sig: string }>(
        `SELECT concat_ws('|',
           (SELECT max(pulp_last_updated) FROM core_distribution), (SELECT count(*) FROM core_distribution),
           (SELECT max(pulp_last_updated) FROM core_publication), (SELECT count(*) FROM core_publication),
           (SELECT max(pulp_last_updated) FROM core_repositoryversion), (SELECT count(*) FROM core_repositoryversion),
           (SELECT max(pulp_last_updated) FROM core_contentguard), (SELECT count(*) FROM core_contentguard)) AS sig`,
      );
      const sig = row?.sig ?? '';
      if (this.signature !== null && sig !== this.signature) this.invalidate();
      this.signature = sig;
    } catch (e) {
      // Serving stale data beats failing: the next poll retries.
      this.p.logger.warn('content app cache poll failed', { error: (e as Error).message });
    }
  }

  /**
   * The distribution whose base path is one of `ancestors` (at most one: base paths never nest),
   * with one `base_path = ANY(...)` query when the cache cannot answer.
   */
  async find(ancestors: string[]): Promise<ServedDistribution | null> {
    let allKnown = true;
    for (const a of ancestors) {
      const hit = this.byBasePath.get(a);
      if (hit) return hit;
      if (hit === undefined) allKnown = false;
    }
    if (allKnown) return null;
    const gen = this.generation;
    const rows = await this.p.db.query(
      `SELECT d.pulp_id, d.pulp_type, d.base_path, d.hidden, d.publication_id, d.repository_id, d.repository_version_id,
              g.pulp_id AS guard_id, g.pulp_type AS guard_type, g.settings AS guard_settings
         FROM core_distribution d LEFT JOIN core_contentguard g ON g.pulp_id = d.content_guard_id
        WHERE d.base_path = ANY($1::text[])
        ORDER BY length(d.base_path) DESC LIMIT 1`,
      [ancestors],
    );
    const r = rows[0];
    const found: ServedDistribution | null = r
      ? {
        id: r.pulp_id,
        pulpType: r.pulp_type,
        basePath: r.base_path,
        hidden: r.hidden,
        serveFromPublication: this.p.registry.distributionTypes.get(r.pulp_type)?.def.serveFromPublication ?? false,
        guard: r.guard_id ? { pulp_id: r.guard_id, pulp_type: r.guard_type, settings: r.guard_settings ?? {} } : null,
        publicationId: r.publication_id,
        repositoryId: r.repository_id,
        repositoryVersionId: r.repository_version_id,
      }
      : null;
    if (gen === this.generation) {
      for (const a of ancestors) this.byBasePath.set(a, found && found.basePath === a ? found : null);
    }
    return found;
  }

  /**
   * What a distribution serves: for publication-serving types its explicit publication, else the
   * newest complete publication of its version, else of its repository's newest published version
   * (as Pulp does, so a new unpublished version does not take the content offline); for the
   * others its version, else its repository's latest complete version.
   */
  async target(d: ServedDistribution): Promise<ServeTarget> {
    const cached = this.targets.get(d.id);
    if (cached) return cached;
    const gen = this.generation;
    const t = await this.resolveTarget(d);
    if (gen === this.generation) this.targets.set(d.id, t);
    return t;
  }

  private async resolveTarget(d: ServedDistribution): Promise<ServeTarget> {
    const db = this.p.db;
    if (d.serveFromPublication) {
      const select = `SELECT pub.pulp_id, pub.pass_through, pub.pulp_created, v.repository_id, v.number
                        FROM core_publication pub JOIN core_repositoryversion v ON v.pulp_id = pub.repository_version_id`;
      let row;
      if (d.publicationId) row = await db.one(`${select} WHERE pub.pulp_id = $1 AND pub.complete`, [d.publicationId]);
      else if (d.repositoryVersionId) {
        row = await db.one(`${select} WHERE pub.repository_version_id = $1 AND pub.complete ORDER BY pub.pulp_created DESC LIMIT 1`, [d.repositoryVersionId]);
      } else if (d.repositoryId) {
        row = await db.one(
          `${select} WHERE v.repository_id = $1 AND v.complete AND pub.complete ORDER BY v.number DESC, pub.pulp_created DESC LIMIT 1`,
          [d.repositoryId],
        );
      } else return { kind: 'none', reason: 'The distribution does not point to a publication, a repository or a repository version.' };
      if (!row) return { kind: 'none', reason: 'The distribution has no publication to serve.' };
      return {
        kind: 'publication', key: `p:${row.pulp_id}`, publicationId: row.pulp_id, passThrough: row.pass_through,
        repositoryId: row.repository_id, versionNumber: row.number, created: row.pulp_created,
      };
    }
    const select = 'SELECT v.pulp_id, v.repository_id, v.number, v.pulp_created FROM core_repositoryversion v';
    let row;
    if (d.repositoryVersionId) row = await db.one(`${select} WHERE v.pulp_id = $1 AND v.complete`, [d.repositoryVersionId]);
    else if (d.repositoryId) row = await db.one(`${select} WHERE v.repository_id = $1 AND v.complete ORDER BY v.number DESC LIMIT 1`, [d.repositoryId]);
    else return { kind: 'none', reason: 'The distribution does not point to a repository or a repository version.' };
    if (!row) return { kind: 'none', reason: 'The distribution has no repository version to serve.' };
    return { kind: 'version', key: `v:${row.pulp_id}`, versionId: row.pulp_id, repositoryId: row.repository_id, versionNumber: row.number, created: row.pulp_created };
  }
}
