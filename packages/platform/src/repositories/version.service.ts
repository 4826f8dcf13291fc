import {
  TaskError,
  type CompletedVersion, type Row, type NewVersionOptions, type RepositoryVersionBuilder, type VersionService,
} from '@pith/plugin-api';
import { planForProbes, relaxCommit } from '../db/bulk-sql';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { PluginRegistry } from '../plugins/plugin-registry';
import { quoteIdent } from '../http/sql-filters';
import { uuid7 } from '../util/uuid7';
import { hasLeadingIndex, type DetailTables } from '../resources/detail-tables';
import { versionHref } from '../resources/resource-hrefs';
import { countsFromRows, isEmptyChange, nextPresent, readSummary, type TypeCounts } from './version-summary';

/** Ids per statement when adding/removing: big enough for throughput, small enough for short locks. */
const BATCH = 5000;

/**
 * Membership predicate of version `$n` for `core_repositorycontent` alias `rc` (DESIGN §3).
 * Rows of an incomplete version N carry version_added = N or version_removed = N, so they never
 * change what a complete version < N contains.
 */
export const IN_VERSION = (rc: string, n: string) =>
  `${rc}.version_added <= ${n} AND (${rc}.version_removed IS NULL OR ${rc}.version_removed > ${n})`;

interface RepoRow {
  pulp_id: string;
  pulp_type: string;
  next_version: number;
  retain_repo_versions: number | null;
}

function isPg(e: unknown, code: string): boolean {
  return (e as { code?: string } | undefined)?.code === code;
}

function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Removes the traces of an incomplete version N: rows added in N are deleted, rows removed in N
 * are reopened, the version row goes. Afterwards the open rows equal the latest complete version
 * again. Safe to call repeatedly; does nothing if N is complete or gone.
 */
export async function discardVersion(db: Db, repositoryId: string, number: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const v = await tx.one<{ pulp_id: string }>(
      `SELECT pulp_id FROM core_repositoryversion
        WHERE repository_id = $1 AND number = $2 AND NOT complete FOR UPDATE`,
      [repositoryId, number],
    );
    if (!v) return false;
    await tx.query('DELETE FROM core_repositorycontent WHERE repository_id = $1 AND version_added = $2', [repositoryId, number]);
    await tx.query('UPDATE core_repositorycontent SET version_removed = NULL WHERE repository_id = $1 AND version_removed = $2', [repositoryId, number]);
    await tx.query('DELETE FROM core_repositoryversion WHERE pulp_id = $1', [v.pulp_id]);
    return true;
  });
}

/**
 * Task-failure cleanup (wired by the tasking layer): discards every incomplete version the task
 * was building, so a failed, canceled or abandoned task leaves no half-built version behind.
 */
export async function discardIncompleteVersions(db: Db, taskId: string): Promise<number> {
  const rows = await db.query<{ repository_id: string; number: number }>(
    'SELECT repository_id, number FROM core_repositoryversion WHERE task_id = $1 AND NOT complete',
    [taskId],
  );
  let n = 0;
  for (const r of rows) if (await discardVersion(db, r.repository_id, r.number)) n++;
  return n;
}

/**
 * Creates, completes, squashes and discards repository versions with set-based SQL only: no
 * version's content is ever loaded into memory, so the cost of a change is proportional to the
 * change, not to the repository (a one-unit version on a 100k-unit repository is a few index
 * lookups).
 */
export class RepositoryVersionService implements VersionService {
  constructor(
    private readonly db: Db,
    private readonly registry: PluginRegistry,
    private readonly detailTables: DetailTables,
    private readonly logger: Logger,
    /** Task building versions through this instance (recorded on incomplete versions for cleanup). */
    readonly taskId: string | null = null,
  ) {}

  /** The same service, bound to a task (what a TaskContext hands out). */
  forTask(taskId: string): RepositoryVersionService {
    return new RepositoryVersionService(this.db, this.registry, this.detailTables, this.logger, taskId);
  }

  async create(
    repositoryId: string,
    build: (v: RepositoryVersionBuilder) => Promise<void>,
    options: NewVersionOptions = {},
  ): Promise<CompletedVersion | null> {
    const repo = await this.repository(repositoryId);
    // The caller holds the repository's exclusive lock, so any incomplete version is a leftover.
    const leftovers = await this.db.query<{ number: number }>(
      'SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete ORDER BY number DESC',
      [repositoryId],
    );
    for (const l of leftovers) await discardVersion(this.db, repositoryId, l.number);

    const latest = await this.db.one<{ number: number }>(
      'SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND complete ORDER BY number DESC LIMIT 1',
      [repositoryId],
    );
    let base: { pulp_id: string; number: number } | undefined;
    if (options.baseVersion !== undefined && options.baseVersion !== null) {
      base = await this.db.one(
        'SELECT pulp_id, number FROM core_repositoryversion WHERE repository_id = $1 AND number = $2 AND complete',
        [repositoryId, options.baseVersion],
      );
      if (!base) throw new TaskError(`Repository version ${options.baseVersion} does not exist.`);
    }
    const number = repo.next_version;
    const versionId = uuid7();
    await this.db.query(
      `INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete, base_version_id, task_id)
       VALUES ($1, $2, $3, false, $4, $5)`,
      [versionId, repositoryId, number, base?.pulp_id ?? null, this.taskId],
    );
    const startNumber = base?.number ?? latest?.number ?? null;
    const builder = new VersionBuilder(this.db, repositoryId, versionId, number, startNumber);
    let completed: CompletedVersion | null;
    try {
      if (base && base.number !== latest?.number) await builder.resetTo(base.number);
      await build(builder);
      completed = await this.complete(repo, number, latest?.number ?? null);
    } catch (e) {
      await discardVersion(this.db, repositoryId, number).catch((err) =>
        this.logger.error('could not discard an incomplete version', { repositoryId, number, error: String(err) }),
      );
      throw e;
    }
    if (completed && repo.retain_repo_versions) await this.applyRetention(repositoryId, repo.retain_repo_versions);
    return completed;
  }

  private async repository(repositoryId: string): Promise<RepoRow> {
    const repo = await this.db.one<RepoRow>(
      'SELECT pulp_id, pulp_type, next_version, retain_repo_versions FROM core_repository WHERE pulp_id = $1',
      [repositoryId],
    );
    if (!repo) throw new TaskError(`Repository ${repositoryId} does not exist.`);
    return repo;
  }

  /** Dedupes by repository key, checks content types, counts and marks version N complete — atomically. */
  private async complete(repo: RepoRow, number: number, latestNumber: number | null): Promise<CompletedVersion | null> {
    const repoId = repo.pulp_id;
    // Detail layouts come from the pool: load them before the transaction pins a connection.
    for (const t of this.registry.contentTypes.values()) if (t.def.repositoryKey.length) await this.detailTables.get(t.def.entity);
    return this.db.transaction(async (tx) => {
      const v = await tx.one<{ pulp_id: string }>(
        'SELECT pulp_id FROM core_repositoryversion WHERE repository_id = $1 AND number = $2 AND NOT complete FOR UPDATE',
        [repoId, number],
      );
      if (!v) throw new Error(`incomplete version ${number} of ${repoId} vanished while being built`);
      const added = await this.count(tx, repoId, 'version_added', number);
      this.checkAcceptedTypes(repo.pulp_type, added);
      // Replaced units become removals of N, so removals are counted after this.
      await this.removeRepositoryKeyDuplicates(tx, repoId, number, Object.keys(added));
      const removed = await this.count(tx, repoId, 'version_removed', number);
      if (isEmptyChange(added, removed)) {
        await tx.query('DELETE FROM core_repositoryversion WHERE pulp_id = $1', [v.pulp_id]);
        return null;
      }
      let previous: TypeCounts = {};
      if (latestNumber !== null) {
        const prev = await tx.one<{ content_summary: unknown }>(
          'SELECT content_summary FROM core_repositoryversion WHERE repository_id = $1 AND number = $2',
          [repoId, latestNumber],
        );
        previous = readSummary(prev?.content_summary).present;
      }
      const summary = { added, removed, present: nextPresent(previous, added, removed) };
      await tx.query('DELETE FROM core_repositoryversion_seen WHERE version_id = $1', [v.pulp_id]);
      await tx.query(
        `UPDATE core_repositoryversion SET complete = true, content_summary = $2, pulp_last_updated = clock_timestamp()
          WHERE pulp_id = $1`,
        [v.pulp_id, JSON.stringify(summary)],
      );
      await tx.query(
        'UPDATE core_repository SET next_version = GREATEST(next_version, $2 + 1) WHERE pulp_id = $1',
        [repoId, number],
      );
      return { number, href: versionHref(this.registry, repo.pulp_type, repoId, number) };
    });
  }

  private async count(db: Db, repoId: string, column: 'version_added' | 'version_removed', number: number): Promise<TypeCounts> {
    const rows = await db.query<{ pulp_type: string; n: string }>(
      `SELECT c.pulp_type, count(*) AS n
         FROM core_repositorycontent rc JOIN core_content c ON c.pulp_id = rc.content_id
        WHERE rc.repository_id = $1 AND rc.${column} = $2
        GROUP BY c.pulp_type`,
      [repoId, number],
    );
    return countsFromRows(rows);
  }

  private checkAcceptedTypes(repoType: string, added: TypeCounts): void {
    const def = this.registry.repositoryTypes.get(repoType)?.def;
    if (!def) return;
    const bad = Object.keys(added).filter((t) => !def.contentTypes.includes(t));
    if (bad.length) {
      throw new TaskError(`Content of type ${bad.join(', ')} cannot be added to a repository of type ${repoType} (accepted: ${def.contentTypes.join(', ')}).`);
    }
  }

  /**
   * A unit added in N replaces any older unit with the same repository key; two units added in N
   * with the same key are an error. Returns true when older units were removed.
   */
  private async removeRepositoryKeyDuplicates(tx: Db, repoId: string, number: number, types: string[]): Promise<boolean> {
    let changed = false;
    for (const pulpType of types) {
      const def = this.registry.contentTypes.get(pulpType)?.def;
      if (!def || def.repositoryKey.length === 0) continue;
      const table = await this.detailTables.get(def.entity);
      const keys = def.repositoryKey.map((k) => {
        const col = table.byName.get(k);
        if (!col) throw new Error(`repository key '${k}' of ${pulpType} is not a column of ${table.table}`);
        return quoteIdent(col.name);
      });
      const ptr = quoteIdent(table.ptr);
      const dupes = await tx.query(
        `SELECT ${keys.map((k) => `d.${k}`).join(', ')}, count(*) AS n
           FROM core_repositorycontent rc JOIN ${table.sql} d ON d.${ptr} = rc.content_id
          WHERE rc.repository_id = $1 AND rc.version_added = $2
          GROUP BY ${keys.map((k) => `d.${k}`).join(', ')}
         HAVING count(*) > 1
          LIMIT 5`,
        [repoId, number],
      );
      if (dupes.length) {
        const shown = dupes.map((d) => JSON.stringify(Object.fromEntries(def.repositoryKey.map((k) => [k, d[table.byName.get(k)!.name]])))).join(', ');
        throw new TaskError(
          `Cannot create repository version: more than one ${pulpType} unit with the same repository key (${def.repositoryKey.join(', ')}) would be added: ${shown}`,
          'PLP0022',
        );
      }
      // Equality (not IS NOT DISTINCT FROM): null keys never collide, and the joins stay indexable.
      const keyJoin = keys.map((k) => `od.${k} = nd.${k}`).join(' AND ');
      let r: Row[];
      if (hasLeadingIndex(table, keys.map((k) => k.slice(1, -1)))) {
        // Driven by the new units: their keys → same-key units (detail index) → open rows of this
        // repository (covering index). Cost follows the change, not the repository size, and the
        // shape is right even when statistics lag behind a fast-growing table.
        r = await tx.query(
          `UPDATE core_repositorycontent old SET version_removed = $2
             FROM (SELECT DISTINCT od.${ptr} AS content_id
                     FROM core_repositorycontent nw
                     JOIN ${table.sql} nd ON nd.${ptr} = nw.content_id
                     JOIN ${table.sql} od ON ${keyJoin} AND od.${ptr} <> nd.${ptr}
                    WHERE nw.repository_id = $1 AND nw.version_added = $2) cand
            WHERE old.repository_id = $1 AND old.content_id = cand.content_id
              AND old.version_removed IS NULL AND old.version_added < $2
            RETURNING old.id`,
          [repoId, number],
        );
      } else {
        // No index on the key: one hash join over the repository's open rows (nested loops over
        // stale estimates would be quadratic).
        await tx.query('SET LOCAL enable_nestloop = off');
        r = await tx.query(
          `UPDATE core_repositorycontent old SET version_removed = $2
             FROM ${table.sql} od, core_repositorycontent nw, ${table.sql} nd
            WHERE old.repository_id = $1 AND old.version_removed IS NULL AND old.version_added < $2
              AND od.${ptr} = old.content_id
              AND nw.repository_id = $1 AND nw.version_added = $2 AND nd.${ptr} = nw.content_id
              AND ${keyJoin}
            RETURNING old.id`,
          [repoId, number],
        );
        await tx.query('SET LOCAL enable_nestloop = on');
      }
      if (r.length) changed = true;
    }
    return changed;
  }

  /**
   * Deletes complete version N by squashing its changes into the next complete version, so every
   * other version keeps exactly its content. Deleting the only version is refused.
   */
  async deleteVersion(repositoryId: string, number: number): Promise<boolean> {
    const leftovers = await this.db.query<{ number: number }>(
      'SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete',
      [repositoryId],
    );
    for (const l of leftovers) await discardVersion(this.db, repositoryId, l.number);
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pulp_id FROM core_repository WHERE pulp_id = $1 FOR UPDATE', [repositoryId]);
      const v = await tx.one<{ pulp_id: string }>(
        'SELECT pulp_id FROM core_repositoryversion WHERE repository_id = $1 AND number = $2 AND complete FOR UPDATE',
        [repositoryId, number],
      );
      if (!v) return false; // already gone: deleting is idempotent
      const others = await tx.one<{ n: string }>(
        'SELECT count(*) AS n FROM core_repositoryversion WHERE repository_id = $1 AND complete AND number <> $2',
        [repositoryId, number],
      );
      if (Number(others?.n ?? 0) === 0) {
        throw new TaskError('Cannot delete repository version. Repositories must have at least one repository version.');
      }
      const next = await tx.one<{ pulp_id: string; number: number }>(
        `SELECT pulp_id, number FROM core_repositoryversion
          WHERE repository_id = $1 AND complete AND number > $2 ORDER BY number LIMIT 1 FOR UPDATE`,
        [repositoryId, number],
      );
      await squash(tx, repositoryId, number, next?.number ?? null);
      await tx.query('DELETE FROM core_repositoryversion WHERE pulp_id = $1', [v.pulp_id]);
      if (next) {
        const added = await this.count(tx, repositoryId, 'version_added', next.number);
        const removed = await this.count(tx, repositoryId, 'version_removed', next.number);
        await tx.query(
          `UPDATE core_repositoryversion
              SET content_summary = jsonb_set(jsonb_set(content_summary, '{added}', $2::jsonb), '{removed}', $3::jsonb),
                  pulp_last_updated = clock_timestamp()
            WHERE pulp_id = $1`,
          [next.pulp_id, JSON.stringify(added), JSON.stringify(removed)],
        );
      }
      return true;
    });
  }

  /** Versions that must survive retention: served by a distribution directly or through a publication. */
  async protectedVersionNumbers(repositoryId: string): Promise<Set<number>> {
    const rows = await this.db.query<{ number: number }>(
      `SELECT v.number FROM core_repositoryversion v
        WHERE v.repository_id = $1 AND v.complete AND (
              EXISTS (SELECT 1 FROM core_distribution d WHERE d.repository_version_id = v.pulp_id)
           OR EXISTS (SELECT 1 FROM core_distribution d JOIN core_publication pub ON pub.pulp_id = d.publication_id
                       WHERE pub.repository_version_id = v.pulp_id)
           OR (EXISTS (SELECT 1 FROM core_distribution d WHERE d.repository_id = v.repository_id)
               AND (v.number = (SELECT max(number) FROM core_repositoryversion WHERE repository_id = $1 AND complete)
                    OR v.pulp_id = (SELECT pub.repository_version_id FROM core_publication pub
                                      JOIN core_repositoryversion pv ON pv.pulp_id = pub.repository_version_id
                                     WHERE pv.repository_id = $1 AND pub.complete
                                     ORDER BY pv.number DESC, pub.pulp_created DESC LIMIT 1))))`,
      [repositoryId],
    );
    return new Set(rows.map((r) => r.number));
  }

  /** Keeps the newest `keep` unprotected complete versions (Pulp's retain_repo_versions). */
  async applyRetention(repositoryId: string, keep: number): Promise<number[]> {
    const versions = await this.db.query<{ number: number }>(
      'SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND complete ORDER BY number DESC',
      [repositoryId],
    );
    const protectedNumbers = await this.protectedVersionNumbers(repositoryId);
    const unprotected = versions.map((v) => v.number).filter((n) => !protectedNumbers.has(n));
    const doomed = unprotected.slice(keep);
    for (const n of doomed) await this.deleteVersion(repositoryId, n);
    return doomed;
  }
}

/**
 * Moves version N's changes into the next complete version M (or reverts them when N is the
 * latest). Run inside the deleting transaction.
 */
async function squash(tx: Db, repoId: string, n: number, m: number | null): Promise<void> {
  if (m === null) {
    // N is the latest: its additions disappear, its removals are undone.
    await tx.query('DELETE FROM core_repositorycontent WHERE repository_id = $1 AND version_added = $2', [repoId, n]);
    await tx.query('UPDATE core_repositorycontent SET version_removed = NULL WHERE repository_id = $1 AND version_removed = $2', [repoId, n]);
    return;
  }
  // Present only in N (added in N, removed in M): gone.
  await tx.query(
    'DELETE FROM core_repositorycontent WHERE repository_id = $1 AND version_added = $2 AND version_removed = $3',
    [repoId, n, m],
  );
  // Removed in N and re-added in M: one continuous row again, ending where the re-added row ended.
  await tx.query(
    `WITH pairs AS (
       SELECT r1.id AS keep_id, r2.id AS drop_id, r2.version_removed AS until
         FROM core_repositorycontent r1
         JOIN core_repositorycontent r2
           ON r2.repository_id = r1.repository_id AND r2.content_id = r1.content_id AND r2.version_added = $3
        WHERE r1.repository_id = $1 AND r1.version_removed = $2
     ), dropped AS (
       DELETE FROM core_repositorycontent WHERE id IN (SELECT drop_id FROM pairs)
     )
     UPDATE core_repositorycontent rc SET version_removed = pairs.until FROM pairs WHERE rc.id = pairs.keep_id`,
    [repoId, n, m],
  );
  // Everything else N changed now happens in M.
  await tx.query('UPDATE core_repositorycontent SET version_added = $3 WHERE repository_id = $1 AND version_added = $2', [repoId, n, m]);
  await tx.query('UPDATE core_repositorycontent SET version_removed = $3 WHERE repository_id = $1 AND version_removed = $2', [repoId, n, m]);
}

/** Writes version N's membership directly (DESIGN §3); nothing here is visible to readers of complete versions. */
class VersionBuilder implements RepositoryVersionBuilder {
  constructor(
    private readonly db: Db,
    readonly repositoryId: string,
    private readonly versionId: string,
    readonly number: number,
    /** Version the build starts from (base version or latest), null for an empty repository. */
    private readonly startNumber: number | null,
  ) {}

  async add(contentIds: string[]): Promise<number> {
    let added = 0;
    // Each statement in a short transaction of its own: rows of version N stay invisible until
    // complete() commits synchronously, so these commits need not wait for the WAL flush, and
    // every lookup is driven by the batch (db/bulk-sql.ts). The touch commits before the insert
    // (as it did as a statement of its own): holding its row locks across the insert's foreign-key
    // checks could deadlock with a concurrent orphan cleanup.
    const inTransaction = async <T>(fn: (tx: Db) => Promise<T>): Promise<T> =>
      this.db.transaction(async (tx) => {
        await relaxCommit(tx);
        await planForProbes(tx);
        return fn(tx);
      });
    for (const batch of chunks([...new Set(contentIds)])) {
      // Touch first (orphan protection): skip rows touched recently or locked by a concurrent toucher.
      await inTransaction((tx) =>
        tx.query(
          `UPDATE core_content SET timestamp_of_interest = now()
            WHERE pulp_id IN (SELECT pulp_id FROM core_content
                               WHERE pulp_id = ANY($1::uuid[]) AND timestamp_of_interest < now() - interval '1 minute'
                               ORDER BY pulp_id FOR NO KEY UPDATE SKIP LOCKED)`,
          [batch],
        ),
      );
      try {
        // A unit removed earlier in this version is restored (not new); one without an open row is inserted.
        const [r] = await inTransaction((tx) =>
          tx.query<{ n: string }>(
            `WITH ids AS (SELECT DISTINCT unnest($3::uuid[]) AS id),
             undone AS (
               UPDATE core_repositorycontent rc SET version_removed = NULL
                WHERE rc.repository_id = $1 AND rc.version_removed = $2 AND rc.content_id IN (SELECT id FROM ids)
               RETURNING rc.content_id
             ),
             ins AS (
               INSERT INTO core_repositorycontent (repository_id, content_id, version_added)
               SELECT $1, ids.id, $2 FROM ids
                -- A scalar probe on the full (repository, content) key: as an anti-join, with the
                -- statistics of a repository that just grew, the planner scanned every open row
                -- of the repository once per id (9 s per 1000 ids at 86k members).
                WHERE (SELECT bool_or(o.version_removed IS NULL) FROM core_repositorycontent o
                        WHERE o.repository_id = $1 AND o.content_id = ids.id) IS NOT TRUE
                  AND ids.id NOT IN (SELECT content_id FROM undone)
               ON CONFLICT DO NOTHING
               RETURNING 1
             )
             SELECT count(*) AS n FROM ins`,
            [this.repositoryId, this.number, batch],
          ),
        );
        added += Number(r?.n ?? 0);
      } catch (e) {
        if (isPg(e, '23503')) {
          const missing = await this.db.query<{ id: string }>(
            `SELECT id FROM unnest($1::uuid[]) AS id WHERE NOT EXISTS (SELECT 1 FROM core_content c WHERE c.pulp_id = id) LIMIT 10`,
            [batch],
          );
          throw new TaskError(`Content does not exist: ${missing.map((m) => m.id).join(', ')}`);
        }
        throw e;
      }
    }
    return added;
  }

  async markSeen(contentIds: string[]): Promise<void> {
    for (const batch of chunks([...new Set(contentIds)])) {
      await this.db.transaction(async (tx) => {
        await relaxCommit(tx); // invisible until complete(), as in add()
        await tx.query(
          `INSERT INTO core_repositoryversion_seen (version_id, content_id)
           SELECT $1, id FROM unnest($2::uuid[]) AS id ON CONFLICT DO NOTHING`,
          [this.versionId, batch],
        );
      });
    }
  }

  async removeUnseen(): Promise<number> {
    if (this.startNumber === null) return 0;
    // Base units never marked seen: added-in-N rows of them go, older open rows are closed at N.
    const [r] = await this.db.query<{ n: string }>(
      `WITH doomed AS (
         SELECT b.content_id FROM core_repositorycontent b
          WHERE b.repository_id = $1 AND ${IN_VERSION('b', '$3')}
            AND NOT EXISTS (SELECT 1 FROM core_repositoryversion_seen s WHERE s.version_id = $4 AND s.content_id = b.content_id)
       ),
       dropped AS (
         DELETE FROM core_repositorycontent rc
          WHERE rc.repository_id = $1 AND rc.version_added = $2 AND rc.content_id IN (SELECT content_id FROM doomed)
         RETURNING 1
       ),
       closed AS (
         UPDATE core_repositorycontent rc SET version_removed = $2
          WHERE rc.repository_id = $1 AND rc.version_removed IS NULL AND rc.version_added < $2
            AND rc.content_id IN (SELECT content_id FROM doomed)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM dropped) + (SELECT count(*) FROM closed) AS n`,
      [this.repositoryId, this.number, this.startNumber, this.versionId],
    );
    return Number(r?.n ?? 0);
  }

  async remove(contentIds: string[] | '*'): Promise<void> {
    if (contentIds === '*') {
      await this.db.query('DELETE FROM core_repositorycontent WHERE repository_id = $1 AND version_added = $2', [this.repositoryId, this.number]);
      await this.db.query(
        'UPDATE core_repositorycontent SET version_removed = $2 WHERE repository_id = $1 AND version_removed IS NULL',
        [this.repositoryId, this.number],
      );
      return;
    }
    for (const batch of chunks([...new Set(contentIds)])) {
      // The DELETE (rows added in N) and the UPDATE (older open rows) touch disjoint rows.
      await this.db.query(
        `WITH ids AS (SELECT unnest($3::uuid[]) AS id),
         dropped AS (
           DELETE FROM core_repositorycontent rc
            WHERE rc.repository_id = $1 AND rc.version_added = $2 AND rc.content_id IN (SELECT id FROM ids)
         )
         UPDATE core_repositorycontent rc SET version_removed = $2
          WHERE rc.repository_id = $1 AND rc.version_removed IS NULL AND rc.version_added < $2
            AND rc.content_id IN (SELECT id FROM ids)`,
        [this.repositoryId, this.number, batch],
      );
    }
  }

  async *presentContentIds(batchSize = 1000): AsyncIterable<string[]> {
    if (this.startNumber === null) return;
    const size = Math.max(1, Math.min(batchSize, 50_000));
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      // Keyset over the covering (repository_id, content_id) index: each page is an index range scan.
      const rows = await this.db.query<{ content_id: string }>(
        `SELECT rc.content_id FROM core_repositorycontent rc
          WHERE rc.repository_id = $1 AND rc.content_id > $3 AND ${IN_VERSION('rc', '$2')}
          ORDER BY rc.content_id LIMIT $4`,
        [this.repositoryId, this.startNumber, after, size],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => r.content_id);
      if (rows.length < size) return;
      after = rows[rows.length - 1]!.content_id;
    }
  }

  /** Makes the open rows equal base version B's content (relative to the latest, as removals/additions in N). */
  async resetTo(base: number): Promise<void> {
    await this.db.query(
      `UPDATE core_repositorycontent o SET version_removed = $2
        WHERE o.repository_id = $1 AND o.version_removed IS NULL
          AND NOT EXISTS (SELECT 1 FROM core_repositorycontent b
                           WHERE b.repository_id = $1 AND b.content_id = o.content_id AND ${IN_VERSION('b', '$3')})`,
      [this.repositoryId, this.number, base],
    );
    await this.db.query(
      `INSERT INTO core_repositorycontent (repository_id, content_id, version_added)
       SELECT $1, b.content_id, $2 FROM core_repositorycontent b
        WHERE b.repository_id = $1 AND ${IN_VERSION('b', '$3')}
          AND NOT EXISTS (SELECT 1 FROM core_repositorycontent o
                           WHERE o.repository_id = $1 AND o.content_id = b.content_id AND o.version_removed IS NULL)`,
      [this.repositoryId, this.number, base],
    );
  }
}
