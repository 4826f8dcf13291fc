import type { ContentTypeDefinition, JsonObject, Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import type { RegisteredType } from '../plugins/plugin-registry';
import { badRequest } from '../http/errors';
import { hrefs, prn } from '../http/hrefs';
import { paginated, readPage } from '../http/pagination';
import { applyFilters, fromFieldFilters, orderBy, quoteIdent, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import { applyFieldSelection } from '../http/field-selection';
import { filterVersion, type VersionRef } from '../resources/references';
import { identityFilters, labelSelectFilter, pulpTypeFilter, tsSql } from '../resources/common-filters';
import { contentHref } from '../resources/resource-hrefs';
import { serializeDetail } from '../resources/master-detail.service';
import type { DetailTable } from '../resources/detail-tables';
import { IN_VERSION } from '../repositories/version.service';
import { totalCount } from '../repositories/version-summary';
import { VersionPageIndex } from './version-page-index';

type ContentReg = RegisteredType<ContentTypeDefinition>;

const MEMBERSHIP = ['repository_version', 'repository_version_added', 'repository_version_removed'] as const;
type Membership = (typeof MEMBERSHIP)[number];

const SELECT = `c.pulp_id, c.pulp_type, ${tsSql('c.pulp_created')} AS pulp_created, ${tsSql('c.pulp_last_updated')} AS pulp_last_updated, c.pulp_labels`;

/** `prn:file.filecontent:<id>`: model from the type's schema name (`file.FileContent`), else its type. */
export function contentPrn(reg: ContentReg | undefined, pulpType: string, id: string): string {
  const [app] = pulpType.split('.');
  const model = (reg?.def.schemaName?.split('.').pop() ?? pulpType.slice(pulpType.indexOf('.') + 1)).toLowerCase().replace(/[^a-z0-9]/g, '');
  return prn(app!, model, id);
}

function membershipClause(kind: Membership, rc: string, n: string): string {
  if (kind === 'repository_version') return IN_VERSION(rc, n);
  return kind === 'repository_version_added' ? `${rc}.version_added = ${n}` : `${rc}.version_removed = ${n}`;
}

export interface ContentListOptions {
  /** Per-type endpoint; undefined = the generic `content/` list. */
  reg?: ContentReg;
  query: Record<string, string | string[]>;
  absoluteUrl: string;
}

/**
 * Lists and serializes content. A list restricted to one repository version is driven by the
 * covering index (repository_id, content_id) in content_id order (uuid7 = creation order), so a
 * page is an index range scan plus 100 primary-key lookups, and its `count` comes from the
 * version's stored summary when nothing else filters.
 */
export class ContentReader {
  private readonly pageIndex: VersionPageIndex;

  constructor(private readonly p: Platform) {
    this.pageIndex = new VersionPageIndex(p.db);
  }

  /** Filters of a content list besides the membership ones (those are handled structurally). */
  filters(reg: ContentReg | undefined): SqlFilterSet {
    const f: SqlFilterSet = {
      ...identityFilters('c.pulp_id', ['content']),
      pulp_label_select: labelSelectFilter('c.pulp_labels'),
      orphaned_for: {
        type: 'integer',
        description: 'Minutes Content has been orphaned for. -1 uses ORPHAN_PROTECTION_TIME.',
        apply: (w, _l, raw) => {
          if (!/^-?\d{1,9}$/.test(raw)) throw badRequest(`Invalid value for filter 'orphaned_for': '${raw}' is not an integer.`);
          const n = Number(raw);
          const minutes = n < 0 ? this.p.config.PITH_ORPHAN_PROTECTION_TIME : n;
          w.add(`NOT EXISTS (SELECT 1 FROM core_repositorycontent orc WHERE orc.content_id = c.pulp_id)`);
          w.add(`c.timestamp_of_interest < now() - make_interval(mins => ${w.p(minutes)})`);
        },
      },
    };
    if (reg) Object.assign(f, fromFieldFilters(reg.def.filters, 'd', 'c'));
    else f.pulp_type = pulpTypeFilter('c.pulp_type', [...this.p.registry.contentTypes.keys()]);
    // Declared for validation and OpenAPI; applied through the membership join in list().
    for (const m of MEMBERSHIP) f[m] = { type: 'string', apply: () => undefined };
    return f;
  }

  async list(o: ContentListOptions): Promise<JsonObject> {
    const page = readPage(o.query);
    const filters = this.filters(o.reg);
    // Membership filters: the first one drives the query; any further ones become EXISTS clauses.
    const members: Array<{ kind: Membership; v: VersionRef }> = [];
    for (const kind of MEMBERSHIP) {
      const raw = o.query[kind];
      if (raw === undefined) continue;
      for (const value of Array.isArray(raw) ? raw : [raw]) members.push({ kind, v: await filterVersion(this.p, kind, value) });
    }
    const rest: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(o.query)) if (!(MEMBERSHIP as readonly string[]).includes(k)) rest[k] = v;
    const w = new SqlWhere();
    await applyFilters(w, filters, rest);
    const otherFilters = w.clauses.length;

    const table = o.reg ? await this.p.detailTables.get(o.reg.def.entity) : null;
    const ordering = this.orderingColumns(table);
    const custom = o.query.ordering !== undefined && o.query.ordering !== '';
    const pulpType = o.reg?.pulpType;
    const drive = members[0];

    if (drive) {
      const { v } = drive;
      const counts = drive.kind === 'repository_version' ? v.summary.present
        : drive.kind === 'repository_version_added' ? v.summary.added : v.summary.removed;
      const typeRedundant = !pulpType || Object.keys(counts).every((t) => t === pulpType);
      if (otherFilters === 0 && members.length === 1 && typeRedundant && !custom) {
        // Fast path: index range scan on (repository_id, content_id), then 100 PK lookups.
        const count = pulpType ? counts[pulpType] ?? 0 : totalCount(counts);
        // Deep pages of a version's (immutable) content continue from a cached boundary.
        const seek = drive.kind === 'repository_version' && page.offset < count
          ? await this.pageIndex.seek(v.versionId, v.repositoryId, v.number, page.offset)
          : { after: null, skip: page.offset };
        const rows = await this.p.db.query(
          `SELECT ${SELECT} FROM (
             SELECT rc.content_id FROM core_repositorycontent rc
              WHERE rc.repository_id = $1 AND ${membershipClause(drive.kind, 'rc', '$2')}
                AND rc.content_id > $5::uuid
              ORDER BY rc.content_id LIMIT $3 OFFSET $4) pg
           JOIN core_content c ON c.pulp_id = pg.content_id
          ORDER BY pg.content_id`,
          [v.repositoryId, v.number, page.limit, seek.skip, seek.after ?? '00000000-0000-0000-0000-000000000000'],
        );
        return this.page(rows, count, page, o);
      }
    }

    const from: string[] = [];
    const where = new SqlWhere();
    if (drive) {
      from.push('core_repositorycontent rc JOIN core_content c ON c.pulp_id = rc.content_id');
      where.add(`rc.repository_id = ${where.p(drive.v.repositoryId)}`);
      where.add(membershipClause(drive.kind, 'rc', where.p(drive.v.number)));
    } else from.push('core_content c');
    if (table) from.push(`JOIN ${table.sql} d ON d.${quoteIdent(table.ptr)} = c.pulp_id`);
    if (pulpType) where.add(`c.pulp_type = ${where.p(pulpType)}`);
    for (const m of members.slice(1)) {
      where.add(`EXISTS (SELECT 1 FROM core_repositorycontent rx WHERE rx.content_id = c.pulp_id
                  AND rx.repository_id = ${where.p(m.v.repositoryId)} AND ${membershipClause(m.kind, 'rx', where.p(m.v.number))})`);
    }
    // Re-apply the other filters against this statement's parameter numbering.
    await applyFilters(where, filters, rest);
    const dflt = drive ? 'rc.content_id ASC' : 'c.pulp_id ASC';
    const order = orderBy(o.query.ordering, ordering, dflt, 'c.pulp_id');
    const fromSql = from.join(' ');
    const [c] = await this.p.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${fromSql} ${where.sql()}`, where.params);
    const rows = await this.p.db.query(
      `SELECT ${SELECT} FROM ${fromSql} ${where.sql()} ${order} LIMIT ${where.p(page.limit)} OFFSET ${where.p(page.offset)}`,
      where.params,
    );
    return this.page(rows, Number(c?.n ?? 0), page, o);
  }

  private orderingColumns(table: DetailTable | null): Record<string, string> {
    const allowed: Record<string, string> = {
      pk: 'c.pulp_id', pulp_id: 'c.pulp_id', pulp_created: 'c.pulp_created', pulp_last_updated: 'c.pulp_last_updated', pulp_type: 'c.pulp_type',
    };
    for (const col of table?.columns ?? []) if (!(col.name in allowed)) allowed[col.name] = `d.${quoteIdent(col.name)}`;
    return allowed;
  }

  private async page(rows: Row[], count: number, page: { limit: number; offset: number }, o: ContentListOptions): Promise<JsonObject> {
    const results = await this.serialize(rows);
    return applyFieldSelection(paginated(results, count, page, o.absoluteUrl, o.query), o.query) as unknown as JsonObject;
  }

  async read(reg: ContentReg, id: string): Promise<JsonObject | undefined> {
    const row = await this.p.db.one(`SELECT ${SELECT} FROM core_content c WHERE c.pulp_id = $1 AND c.pulp_type = $2`, [id, reg.pulpType]);
    return row ? (await this.serialize([row]))[0] : undefined;
  }

  /** Serializes content rows with one detail query per type and one artifact query per page. */
  async serialize(rows: Row[]): Promise<JsonObject[]> {
    if (rows.length === 0) return [];
    const byType = new Map<string, string[]>();
    for (const r of rows) {
      const list = byType.get(r.pulp_type);
      if (list) list.push(r.pulp_id);
      else byType.set(r.pulp_type, [r.pulp_id]);
    }
    const details = new Map<string, Row>();
    const tables = new Map<string, DetailTable>();
    for (const [t, ids] of byType) {
      const reg = this.p.registry.contentTypes.get(t);
      if (!reg) continue;
      const table = await this.p.detailTables.get(reg.def.entity);
      tables.set(t, table);
      const found = await this.p.db.query(`SELECT * FROM ${table.sql} WHERE ${quoteIdent(table.ptr)} = ANY($1::uuid[])`, [ids]);
      for (const d of found) details.set(d[table.ptr] as string, d);
    }
    const withArtifacts = rows.filter((r) => this.p.registry.contentTypes.get(r.pulp_type)?.def.artifacts !== 'none').map((r) => r.pulp_id);
    const artifacts = new Map<string, Array<{ relative_path: string; artifact_id: string | null }>>();
    if (withArtifacts.length) {
      const cas = await this.p.db.query<{ content_id: string; relative_path: string; artifact_id: string | null }>(
        'SELECT content_id, relative_path, artifact_id FROM core_contentartifact WHERE content_id = ANY($1::uuid[]) ORDER BY relative_path',
        [withArtifacts],
      );
      for (const ca of cas) {
        const list = artifacts.get(ca.content_id);
        if (list) list.push(ca);
        else artifacts.set(ca.content_id, [ca]);
      }
    }
    return rows.map((r) => {
      const reg = this.p.registry.contentTypes.get(r.pulp_type);
      const out: JsonObject = {
        pulp_href: reg ? contentHref(this.p.registry, r.pulp_type, r.pulp_id) : `${hrefs.detail('content', r.pulp_type, r.pulp_type.split('.')[1]!, r.pulp_id)}`,
        prn: contentPrn(reg, r.pulp_type, r.pulp_id),
        pulp_created: r.pulp_created,
        pulp_last_updated: r.pulp_last_updated,
        pulp_labels: r.pulp_labels ?? {},
      };
      const cas = artifacts.get(r.pulp_id) ?? [];
      if (reg?.def.artifacts === 'one') {
        const a = cas[0]?.artifact_id;
        out.artifact = a ? hrefs.artifact(a) : null;
      } else if (reg?.def.artifacts === 'many') {
        const map: JsonObject = {};
        for (const ca of cas) map[ca.relative_path] = ca.artifact_id ? hrefs.artifact(ca.artifact_id) : null;
        out.artifacts = map;
      }
      if (reg) Object.assign(out, serializeDetail(reg.def, tables.get(r.pulp_type) ?? null, details.get(r.pulp_id)));
      return out;
    });
  }
}
