import type { JsonObject, Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { badRequest } from '../http/errors';
import { hrefs, prn } from '../http/hrefs';
import { paginated, readPage } from '../http/pagination';
import { applyFilters, columnFilter, orderBy, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import { applyFieldSelection } from '../http/field-selection';
import { commaList, referenceId, timestampFilter, tsSql } from '../resources/common-filters';
import { contentListHref, repositoryHref } from '../resources/resource-hrefs';
import { IN_VERSION } from './version.service';
import { readSummary } from './version-summary';

const FROM = `core_repositoryversion v
  JOIN core_repository r ON r.pulp_id = v.repository_id
  LEFT JOIN core_repositoryversion b ON b.pulp_id = v.base_version_id`;

const SELECT = `v.pulp_id, v.number, v.repository_id, r.pulp_type AS repository_type, v.content_summary,
  ${tsSql('v.pulp_created')} AS pulp_created, ${tsSql('v.pulp_last_updated')} AS pulp_last_updated, b.number AS base_number`;

const ORDERING = { number: 'v.number', pk: 'v.pulp_id', pulp_id: 'v.pulp_id', pulp_created: 'v.pulp_created', pulp_last_updated: 'v.pulp_last_updated' };

/** Version JSON as Pulp renders it; summary entries link to the type's content list filtered by this version. */
export function serializeVersion(p: Platform, row: Row): JsonObject {
  const repo = repositoryHref(p.registry, row.repository_type, row.repository_id);
  const href = hrefs.version(repo, Number(row.number));
  const summary = readSummary(row.content_summary);
  const section = (counts: Record<string, number>, filter: string): JsonObject => {
    const out: JsonObject = {};
    for (const [t, count] of Object.entries(counts)) out[t] = { count, href: `${contentListHref(p.registry, t)}?${filter}=${href}` };
    return out;
  };
  return {
    pulp_href: href,
    prn: prn('core', 'repositoryversion', row.pulp_id),
    pulp_created: row.pulp_created,
    pulp_last_updated: row.pulp_last_updated,
    number: Number(row.number),
    repository: repo,
    base_version: row.base_number === null || row.base_number === undefined ? null : hrefs.version(repo, Number(row.base_number)),
    content_summary: {
      added: section(summary.added, 'repository_version_added'),
      removed: section(summary.removed, 'repository_version_removed'),
      present: section(summary.present, 'repository_version'),
    },
  };
}

function contentIds(raw: string, name: string): string[] {
  return commaList(raw).map((v) => {
    const id = referenceId(v, ['content']);
    if (!id) throw badRequest(`Invalid value for filter '${name}': '${v.slice(0, 200)}' is not a content href.`);
    return id;
  });
}

/** Filters of version lists: `number` (+ranges), `pulp_created` (+ranges), `content`, `content__in`. */
export function versionFilters(): SqlFilterSet {
  const containsAny = (w: SqlWhere, ids: string[]) =>
    w.add(`EXISTS (SELECT 1 FROM core_repositorycontent rc
                    WHERE rc.repository_id = v.repository_id AND rc.content_id = ANY(${w.p(ids)}::uuid[])
                      AND ${IN_VERSION('rc', 'v.number')})`);
  return {
    number: { type: 'integer', lookups: ['lt', 'lte', 'gt', 'gte', 'range'], apply: columnFilter('v.number', 'integer') },
    pulp_created: timestampFilter('v.pulp_created'),
    content: {
      type: 'string',
      lookups: ['in'],
      description: 'Content Unit referenced by HREF/PRN',
      apply: (w, lookup, raw) => containsAny(w, contentIds(raw, lookup === 'in' ? 'content__in' : 'content')),
    },
  };
}

/**
 * Reads complete versions only: an incomplete version (being built, or left by a dead task) is
 * never listed nor readable.
 */
export class VersionReader {
  readonly filters = versionFilters();

  constructor(private readonly p: Platform) {}

  async list(query: Record<string, string | string[]>, absoluteUrl: string, repositoryId?: string): Promise<JsonObject> {
    const page = readPage(query);
    const w = new SqlWhere();
    w.add('v.complete');
    if (repositoryId) w.add(`v.repository_id = ${w.p(repositoryId)}`);
    await applyFilters(w, this.filters, query);
    const order = orderBy(query.ordering, ORDERING, repositoryId ? 'v.number DESC' : 'v.pulp_created DESC', 'v.pulp_id DESC');
    const [c] = await this.p.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${FROM} ${w.sql()}`, w.params);
    const rows = await this.p.db.query(`SELECT ${SELECT} FROM ${FROM} ${w.sql()} ${order} LIMIT ${w.p(page.limit)} OFFSET ${w.p(page.offset)}`, w.params);
    const body = paginated(rows.map((r) => serializeVersion(this.p, r)), Number(c?.n ?? 0), page, absoluteUrl, query);
    return applyFieldSelection(body, query) as unknown as JsonObject;
  }

  async readRow(repositoryId: string, number: number): Promise<Row | undefined> {
    return this.p.db.one(`SELECT ${SELECT} FROM ${FROM} WHERE v.repository_id = $1 AND v.number = $2 AND v.complete`, [repositoryId, number]);
  }

  async read(repositoryId: string, number: number): Promise<JsonObject | undefined> {
    const row = await this.readRow(repositoryId, number);
    return row ? serializeVersion(this.p, row) : undefined;
  }
}
