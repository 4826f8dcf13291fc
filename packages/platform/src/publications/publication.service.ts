import {
  TaskError,
  type PublicationBuilder, type PublicationCreateOptions, type PublicationMatch, type PublicationService,
  type Row, type VersionContentArtifact,
} from '@pith/plugin-api';
import type { Db } from '../db/db';
import type { Platform } from '../platform';
import { quoteIdent } from '../http/sql-filters';
import { uuid7 } from '../util/uuid7';
import { mapDetailValues, type DetailTable } from '../resources/detail-tables';
import { detailHref } from '../resources/resource-hrefs';
import { IN_VERSION } from '../repositories/version.service';
import { isSafeRelativePath } from './relative-path';

/** Rows per multi-row insert of published artifacts. */
const INSERT_BATCH = 5000;
const DEFAULT_READ_BATCH = 1000;
const MAX_READ_BATCH = 10_000;

function isPg(e: unknown, code: string): boolean {
  return (e as { code?: string } | undefined)?.code === code;
}

/** A value as node-pg must receive it for a column of `sqlType` (json columns need a JSON string). */
function columnValue(sqlType: string, v: unknown): unknown {
  if (v === undefined) return null;
  if (/^jsonb?$/.test(sqlType)) return v === null ? null : JSON.stringify(v);
  return v;
}

/**
 * Publications (plugin-api PublicationService). A publication row is inserted incomplete, filled by
 * the plugin's builder (published artifacts in batched inserts, generated metadata stored as
 * artifacts), then marked complete in one statement: readers only ever look at complete rows, so a
 * half-built publication is never visible. A failed build deletes it; a failed or abandoned task's
 * leftovers are deleted by the task-cleanup hook registered here.
 */
export class PublicationsService {
  constructor(private readonly p: Platform) {
    p.onTaskCleanup((taskId, db) => this.discardIncomplete(taskId, db).then(() => undefined));
  }

  /** The service as a task handler sees it (records created publications in that task). */
  forTask(taskId: string): PublicationService {
    return new TaskPublications(this.p, this, taskId);
  }

  /** Detail table of a publication type, or null for types without extra columns. */
  async detailTable(pulpType: string): Promise<DetailTable | null> {
    const reg = this.p.registry.publicationTypes.get(pulpType);
    return reg?.def.entity ? this.p.detailTables.get(reg.def.entity) : null;
  }

  /**
   * Deletes a publication (detail row first: a plugin's detail FK need not cascade). Published
   * artifacts and metadata go with it; their artifacts become orphans for orphan cleanup.
   */
  async delete(id: string, db: Db = this.p.db): Promise<boolean> {
    const row = await db.one<{ pulp_type: string }>('SELECT pulp_type FROM core_publication WHERE pulp_id = $1', [id]);
    if (!row) return false;
    const table = await this.detailTable(row.pulp_type);
    const run = async (tx: Db) => {
      if (table) await tx.query(`DELETE FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = $1`, [id]);
      return (await tx.query('DELETE FROM core_publication WHERE pulp_id = $1 RETURNING pulp_id', [id])).length > 0;
    };
    return db.inTransaction ? run(db) : db.transaction(run);
  }

  /** Task cleanup: removes every incomplete publication the task was building. */
  async discardIncomplete(taskId: string, db: Db = this.p.db): Promise<number> {
    const rows = await db.query<{ pulp_id: string }>('SELECT pulp_id FROM core_publication WHERE task_id = $1 AND NOT complete', [taskId]);
    let n = 0;
    for (const r of rows) if (await this.delete(r.pulp_id, db)) n++;
    return n;
  }

  href(pulpType: string, id: string): string {
    return detailHref(this.p.registry, 'publications', pulpType, id);
  }

  async create(taskId: string | null, opts: PublicationCreateOptions, build: (b: PublicationBuilder) => Promise<void>): Promise<{ pulp_id: string; href: string }> {
    const db = this.p.db;
    if (!this.p.registry.publicationTypes.has(opts.pulpType)) throw new TaskError(`Unknown publication type '${opts.pulpType}'.`);
    const version = await db.one<{ repository_id: string; number: number }>(
      'SELECT repository_id, number FROM core_repositoryversion WHERE pulp_id = $1 AND complete',
      [opts.repositoryVersionId],
    );
    if (!version) throw new TaskError(`Repository version ${opts.repositoryVersionId} does not exist.`);
    const table = await this.detailTable(opts.pulpType);
    let detail = new Map<string, unknown>();
    if (table) {
      detail = mapDetailValues(table, opts.detail ?? {}, `publication ${opts.pulpType}`);
      for (const [k, v] of detail) detail.set(k, columnValue(table.byName.get(k)!.sqlType, v));
    } else if (opts.detail && Object.keys(opts.detail).length) {
      throw new Error(`publication type ${opts.pulpType} has no detail table for ${Object.keys(opts.detail).join(', ')}`);
    }
    const id = uuid7();
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO core_publication (pulp_id, pulp_type, complete, pass_through, repository_version_id, task_id)
         VALUES ($1, $2, false, $3, $4, $5)`,
        [id, opts.pulpType, !!opts.passThrough, opts.repositoryVersionId, taskId],
      );
      if (table) {
        const cols = [table.ptr, ...detail.keys()];
        const vals = [id, ...detail.values()];
        await tx.query(
          `INSERT INTO ${table.sql} (${cols.map(quoteIdent).join(', ')}) VALUES (${vals.map((_, i) => `$${i + 1}`).join(', ')})`,
          vals,
        );
      }
    });
    const builder = new Builder(this.p, id, opts.repositoryVersionId, version.repository_id, version.number);
    try {
      await build(builder);
      await builder.checkPathClashes();
      const done = await db.query(
        `UPDATE core_publication SET complete = true, pulp_last_updated = clock_timestamp() WHERE pulp_id = $1 AND NOT complete RETURNING pulp_id`,
        [id],
      );
      if (!done.length) throw new Error(`incomplete publication ${id} vanished while being built`);
    } catch (e) {
      await this.delete(id).catch((err) => this.p.logger.error('could not remove an incomplete publication', { id, error: String(err) }));
      throw e;
    }
    const href = this.href(opts.pulpType, id);
    if (taskId) await recordCreated(db, taskId, href);
    return { pulp_id: id, href };
  }

  async reuseExisting(taskId: string | null, match: PublicationMatch): Promise<{ pulp_id: string; href: string } | null> {
    const table = await this.detailTable(match.pulpType);
    const params: unknown[] = [match.pulpType, match.repositoryVersionId];
    const where = ['m.complete', 'm.pulp_type = $1', 'm.repository_version_id = $2'];
    if (match.passThrough !== undefined) {
      params.push(match.passThrough);
      where.push(`m.pass_through = $${params.length}`);
    }
    const detail = match.detail ?? {};
    if (Object.keys(detail).length && !table) throw new Error(`publication type ${match.pulpType} has no detail columns to match`);
    if (table) {
      for (const [k, v] of mapDetailValues(table, detail, `publication ${match.pulpType}`)) {
        params.push(columnValue(table.byName.get(k)!.sqlType, v));
        where.push(`d.${quoteIdent(k)} IS NOT DISTINCT FROM $${params.length}`);
      }
    }
    const join = table ? `JOIN ${table.sql} d ON d.${quoteIdent(table.ptr)} = m.pulp_id` : '';
    const row = await this.p.db.one<{ pulp_id: string }>(
      `SELECT m.pulp_id FROM core_publication m ${join} WHERE ${where.join(' AND ')} ORDER BY m.pulp_created DESC LIMIT 1`,
      params,
    );
    if (!row) return null;
    const href = this.href(match.pulpType, row.pulp_id);
    if (taskId) await recordCreated(this.p.db, taskId, href);
    return { pulp_id: row.pulp_id, href };
  }
}

async function recordCreated(db: Db, taskId: string, href: string): Promise<void> {
  await db.query(
    `UPDATE core_task SET created_resources = array_append(created_resources, $2) WHERE pulp_id = $1 AND NOT ($2 = ANY(created_resources))`,
    [taskId, href],
  );
}

/** plugin-api PublicationService bound to one task. */
class TaskPublications implements PublicationService {
  constructor(private readonly p: Platform, private readonly svc: PublicationsService, private readonly taskId: string) {}

  create(opts: PublicationCreateOptions, build: (b: PublicationBuilder) => Promise<void>): Promise<{ pulp_id: string; href: string }> {
    return this.svc.create(this.taskId, opts, build);
  }

  reuseExisting(match: PublicationMatch): Promise<{ pulp_id: string; href: string } | null> {
    return this.svc.reuseExisting(this.taskId, match);
  }
}

class Builder implements PublicationBuilder {
  constructor(
    private readonly p: Platform,
    readonly publicationId: string,
    readonly repositoryVersionId: string,
    private readonly repositoryId: string,
    private readonly number: number,
  ) {}

  /**
   * One server-side cursor over the version's content artifacts (sorted once by PostgreSQL),
   * fetched batch by batch on a pinned connection: memory stays bounded and the sort is not redone
   * per batch. The connection is released when the consumer stops iterating.
   */
  async *contentArtifacts(batchSize = DEFAULT_READ_BATCH): AsyncIterable<VersionContentArtifact[]> {
    const n = Math.max(1, Math.min(MAX_READ_BATCH, Math.floor(batchSize)));
    const runner = this.p.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction('REPEATABLE READ');
      await runner.query(
        `DECLARE pith_publish_cursor NO SCROLL CURSOR FOR
         SELECT ca.content_id, c.pulp_type, ca.pulp_id AS content_artifact_id, ca.relative_path, ca.artifact_id,
                COALESCE(a.sha256, ra.sha256) AS sha256, COALESCE(a.size, ra.size) AS size
           FROM core_repositorycontent rc
           JOIN core_content c ON c.pulp_id = rc.content_id
           JOIN core_contentartifact ca ON ca.content_id = rc.content_id
           LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id
           LEFT JOIN LATERAL (SELECT r.sha256, r.size FROM core_remoteartifact r
                               WHERE r.content_artifact_id = ca.pulp_id AND ca.artifact_id IS NULL
                               ORDER BY r.pulp_created LIMIT 1) ra ON true
          WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2::int')}
          ORDER BY ca.relative_path, ca.pulp_id`,
        [this.repositoryId, this.number],
      );
      for (;;) {
        const rows = (await runner.query(`FETCH ${n} FROM pith_publish_cursor`)) as Row[];
        if (!rows.length) break;
        yield rows.map((r) => ({
          content_id: r.content_id,
          pulp_type: r.pulp_type,
          content_artifact_id: r.content_artifact_id,
          relative_path: r.relative_path,
          artifact_id: r.artifact_id,
          sha256: r.sha256 ?? null,
          size: r.size === null || r.size === undefined ? null : Number(r.size),
        }));
        if (rows.length < n) break;
      }
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }

  async addPublishedArtifacts(items: Array<{ contentArtifactId: string; relativePath: string }>): Promise<void> {
    for (const it of items) {
      if (!isSafeRelativePath(it.relativePath)) throw new TaskError(`Invalid relative path in publication: ${JSON.stringify(it.relativePath).slice(0, 300)}`);
    }
    for (let i = 0; i < items.length; i += INSERT_BATCH) {
      const batch = items.slice(i, i + INSERT_BATCH);
      try {
        const inserted = await this.p.db.query(
          `INSERT INTO core_publishedartifact (pulp_id, publication_id, content_artifact_id, relative_path)
           SELECT u.id, $1, u.ca, u.path FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS u(id, ca, path)
           RETURNING pulp_id`,
          [this.publicationId, batch.map(() => uuid7()), batch.map((b) => b.contentArtifactId), batch.map((b) => b.relativePath)],
        );
        if (inserted.length !== batch.length) throw new Error('published artifact insert lost rows');
      } catch (e) {
        if (isPg(e, '23505')) throw new TaskError(`Two published artifacts share a relative path: ${(e as { detail?: string }).detail ?? ''}`);
        if (isPg(e, '23503')) throw new TaskError('A published artifact refers to a content artifact that does not exist.');
        throw e;
      }
    }
  }

  async addMetadata(relativePath: string, tempFilePath: string): Promise<void> {
    if (!isSafeRelativePath(relativePath)) throw new TaskError(`Invalid metadata path: ${JSON.stringify(relativePath).slice(0, 300)}`);
    const artifact = await this.p.artifacts.saveFile(tempFilePath);
    try {
      await this.p.db.query(
        'INSERT INTO core_publishedmetadata (pulp_id, publication_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)',
        [uuid7(), this.publicationId, artifact.pulp_id, relativePath],
      );
    } catch (e) {
      if (isPg(e, '23505')) throw new TaskError(`Published metadata '${relativePath}' was added twice.`);
      throw e;
    }
  }

  /** A metadata file and a published artifact at the same path would shadow each other: refuse. */
  async checkPathClashes(): Promise<void> {
    const clash = await this.p.db.one<{ relative_path: string }>(
      `SELECT pm.relative_path FROM core_publishedmetadata pm
         JOIN core_publishedartifact pa ON pa.publication_id = pm.publication_id AND pa.relative_path = pm.relative_path
        WHERE pm.publication_id = $1 LIMIT 1`,
      [this.publicationId],
    );
    if (clash) throw new TaskError(`Published metadata and a published artifact share the path '${clash.relative_path}'.`);
  }
}
