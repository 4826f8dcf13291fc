import type { TaskContext } from '@pith/plugin-api';
import type { Db } from '../db/db';
import type { Platform } from '../platform';
import { quoteIdent } from '../http/sql-filters';

export const CONTENT_BATCH = 2000;
export const ARTIFACT_BATCH = 2000;

/** Content that no repository version (of any repository, any number) and no publication uses. */
const CONTENT_ORPHAN = (cutoff: string) => `c.timestamp_of_interest < ${cutoff}
  AND NOT EXISTS (SELECT 1 FROM core_repositorycontent rc WHERE rc.content_id = c.pulp_id)
  AND NOT EXISTS (SELECT 1 FROM core_contentartifact ca JOIN core_publishedartifact pa ON pa.content_artifact_id = ca.pulp_id
                   WHERE ca.content_id = c.pulp_id)`;

/** Artifacts no content unit and no published metadata uses. */
const ARTIFACT_ORPHAN = (cutoff: string) => `a.timestamp_of_interest < ${cutoff}
  AND NOT EXISTS (SELECT 1 FROM core_contentartifact ca WHERE ca.artifact_id = a.pulp_id)
  AND NOT EXISTS (SELECT 1 FROM core_publishedmetadata pm WHERE pm.artifact_id = a.pulp_id)`;

const FIRST_UUID = '00000000-0000-0000-0000-000000000000';

/** FK violation (something just started using the row) or deadlock with a concurrent linker. */
const isRace = (e: unknown) => ['23503', '40P01', '40001'].includes((e as { code?: string })?.code ?? '');

export interface OrphanCleanupOptions {
  /** Only these content units are candidates (artifacts are still cleaned globally, as in Pulp). */
  contentIds?: string[];
  /** Minutes a unit or artifact must have been untouched to be removed. */
  protectionMinutes: number;
}

export interface OrphanCleanupResult {
  content: number;
  artifacts: number;
  files: number;
}

type Progress = Pick<TaskContext, 'progress' | 'throwIfCanceled' | 'logger'>;

/**
 * Orphan cleanup. Candidates are found in primary-key batches; each batch is locked FOR UPDATE
 * (which waits for, and then blocks, concurrent transactions linking those rows), re-checked with
 * a fresh snapshot, and deleted with the orphan condition repeated in the DELETE itself. If a
 * batch still hits a foreign-key violation (a unit was linked in the meantime) it is retried one
 * unit at a time and the unit that is in use is skipped. Artifact files are removed only after
 * the deleting transaction committed.
 */
export class OrphanCleanupService {
  constructor(private readonly p: Platform) {}

  async run(ctx: Progress, opts: OrphanCleanupOptions): Promise<OrphanCleanupResult> {
    // One cutoff for the whole run: rows touched after the task started are never candidates.
    const { cutoff } = (await this.p.db.one<{ cutoff: Date }>(
      'SELECT now() - make_interval(mins => $1::int) AS cutoff',
      [opts.protectionMinutes],
    ))!;
    const content = await this.cleanContent(ctx, cutoff, opts.contentIds);
    const { artifacts, files } = await this.cleanArtifacts(ctx, cutoff);
    ctx.logger.info('orphan cleanup finished', { content, artifacts, files });
    return { content, artifacts, files };
  }

  private async cleanContent(ctx: Progress, cutoff: Date, onlyIds?: string[]): Promise<number> {
    const scope = onlyIds ? ' AND c.pulp_id = ANY($2::uuid[])' : '';
    const scopeParams = onlyIds ? [onlyIds] : [];
    const total = await this.p.db.one<{ n: string }>(
      `SELECT count(*) AS n FROM core_content c WHERE ${CONTENT_ORPHAN('$1')}${scope}`,
      [cutoff, ...scopeParams],
    );
    const progress = await ctx.progress({ message: 'Clean up orphan Content', code: 'clean-up.content', total: Number(total?.n ?? 0) });
    let deleted = 0;
    let last = FIRST_UUID;
    try {
      for (;;) {
        ctx.throwIfCanceled();
        const rows = await this.p.db.query<{ pulp_id: string }>(
          `SELECT c.pulp_id FROM core_content c
            WHERE c.pulp_id > $${scopeParams.length + 2} AND ${CONTENT_ORPHAN('$1')}${scope}
            ORDER BY c.pulp_id LIMIT ${CONTENT_BATCH}`,
          [cutoff, ...scopeParams, last],
        );
        if (!rows.length) break;
        last = rows[rows.length - 1]!.pulp_id;
        const ids = rows.map((r) => r.pulp_id);
        let n: number;
        try {
          n = await this.deleteContent(ids, cutoff);
        } catch (e) {
          if (!isRace(e)) throw e;
          n = await this.oneByOne(ids, (one) => this.deleteContent(one, cutoff), ctx);
        }
        deleted += n;
        progress.increment(n);
      }
    } finally {
      await progress.done();
    }
    return deleted;
  }

  /** Detail tables of every registered content type, keyed by pulp_type. */
  private detailTables(): Map<string, { table: string; pk: string }> {
    const out = new Map<string, { table: string; pk: string }>();
    for (const [pulpType, reg] of this.p.registry.contentTypes) {
      const meta = this.p.dataSource.getMetadata(reg.def.entity);
      const pk = meta.primaryColumns[0]?.databaseName ?? 'content_ptr_id';
      out.set(pulpType, { table: quoteIdent(meta.tableName), pk: quoteIdent(pk) });
    }
    return out;
  }

  private async deleteContent(ids: string[], cutoff: Date): Promise<number> {
    const details = this.detailTables();
    return this.p.db.transaction(async (tx) => {
      // Waits for in-flight transactions that link these units, then keeps new links out.
      await tx.query(`SELECT c.pulp_id FROM core_content c WHERE c.pulp_id = ANY($2::uuid[]) AND ${CONTENT_ORPHAN('$1')} ORDER BY c.pulp_id FOR UPDATE`, [cutoff, ids]);
      // A new statement sees links committed while we waited.
      const victims = await tx.query<{ pulp_id: string; pulp_type: string }>(
        `SELECT c.pulp_id, c.pulp_type FROM core_content c WHERE c.pulp_id = ANY($2::uuid[]) AND ${CONTENT_ORPHAN('$1')}`,
        [cutoff, ids],
      );
      if (!victims.length) return 0;
      const byType = new Map<string, string[]>();
      for (const v of victims) byType.set(v.pulp_type, [...(byType.get(v.pulp_type) ?? []), v.pulp_id]);
      // Detail rows first: a plugin's detail FK may be RESTRICT rather than CASCADE.
      for (const [type, typeIds] of byType) {
        const d = details.get(type);
        if (d) await tx.query(`DELETE FROM ${d.table} WHERE ${d.pk} = ANY($1::uuid[])`, [typeIds]);
      }
      const victimIds = victims.map((v) => v.pulp_id);
      const gone = await tx.query(
        `DELETE FROM core_content c WHERE c.pulp_id = ANY($2::uuid[]) AND ${CONTENT_ORPHAN('$1')} RETURNING c.pulp_id`,
        [cutoff, victimIds],
      );
      if (gone.length !== victimIds.length) {
        // Cannot happen while the rows are locked; never commit detail rows without their master.
        throw Object.assign(new Error('orphan set changed during delete'), { code: '40001' });
      }
      return gone.length;
    });
  }

  private async cleanArtifacts(ctx: Progress, cutoff: Date): Promise<{ artifacts: number; files: number }> {
    const total = await this.p.db.one<{ n: string }>(`SELECT count(*) AS n FROM core_artifact a WHERE ${ARTIFACT_ORPHAN('$1')}`, [cutoff]);
    const progress = await ctx.progress({ message: 'Clean up orphan Artifacts', code: 'clean-up.artifacts', total: Number(total?.n ?? 0) });
    let deleted = 0;
    let files = 0;
    let last = FIRST_UUID;
    try {
      for (;;) {
        ctx.throwIfCanceled();
        const rows = await this.p.db.query<{ pulp_id: string }>(
          `SELECT a.pulp_id FROM core_artifact a WHERE a.pulp_id > $2 AND ${ARTIFACT_ORPHAN('$1')} ORDER BY a.pulp_id LIMIT ${ARTIFACT_BATCH}`,
          [cutoff, last],
        );
        if (!rows.length) break;
        last = rows[rows.length - 1]!.pulp_id;
        const ids = rows.map((r) => r.pulp_id);
        const gone: Array<{ sha256: string; file: string }> = [];
        const del = async (batch: string[]) => {
          const r = await this.deleteArtifacts(batch, cutoff);
          gone.push(...r);
          return r.length;
        };
        let n: number;
        try {
          n = await del(ids);
        } catch (e) {
          if (!isRace(e)) throw e;
          n = await this.oneByOne(ids, del, ctx);
        }
        files += await this.p.artifacts.removeFilesIfUnreferenced(gone);
        deleted += n;
        progress.increment(n);
      }
    } finally {
      await progress.done();
    }
    return { artifacts: deleted, files };
  }

  private async deleteArtifacts(ids: string[], cutoff: Date): Promise<Array<{ sha256: string; file: string }>> {
    return this.p.db.transaction(async (tx: Db) => {
      await tx.query(`SELECT a.pulp_id FROM core_artifact a WHERE a.pulp_id = ANY($2::uuid[]) AND ${ARTIFACT_ORPHAN('$1')} ORDER BY a.pulp_id FOR UPDATE`, [cutoff, ids]);
      return tx.query<{ sha256: string; file: string }>(
        `DELETE FROM core_artifact a WHERE a.pulp_id = ANY($2::uuid[]) AND ${ARTIFACT_ORPHAN('$1')} RETURNING a.sha256, a.file`,
        [cutoff, ids],
      );
    });
  }

  /** Fallback after a race: each row alone, skipping those that turned out to be in use. */
  private async oneByOne(ids: string[], del: (one: string[]) => Promise<number>, ctx: Progress): Promise<number> {
    let n = 0;
    for (const id of ids) {
      for (let attempt = 1; ; attempt++) {
        try {
          n += await del([id]);
          break;
        } catch (e) {
          if (!isRace(e)) throw e;
          if ((e as { code?: string }).code === '23503' || attempt >= 3) {
            ctx.logger.info('orphan cleanup skipped a row that is in use', { id });
            break;
          }
        }
      }
    }
    return n;
  }
}
