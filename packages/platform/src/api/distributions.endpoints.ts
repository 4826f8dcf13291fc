import type { DistributionTypeDefinition, JsonObject, Row } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { fieldError, fieldErrors, notFound, preconditionFailed } from '../http/errors';
import { columnFilter, fromFieldFilters, quoteIdent, type SqlFilterSet } from '../http/sql-filters';
import { parseHref } from '../http/hrefs';
import { etagFor as etagOf } from '../http/router';
import type { Db } from '../db/db';
import type { Platform } from '../platform';
import type { RegisteredType } from '../plugins/plugin-registry';
import { UUID_RE, uuid7 } from '../util/uuid7';
import { combineDtos, partialDto } from '../resources/dto-combine';
import { MasterDetailService } from '../resources/master-detail.service';
import { collectionPath, DISTRIBUTION_KIND, hrefParamName, titleCase } from '../resources/resource-kinds';
import { identityFilters, ifMatchSatisfied, labelSelectFilter, nameFilter } from '../resources/common-filters';
import { requireVersion, resolveResourceRef } from '../resources/references';
import { IN_VERSION } from '../repositories/version.service';
import { DistributionCoreDto, PublicationDistributionCoreDto } from '../distributions/distribution.dto';
import { assertNoOverlap, lockBasePaths, validateBasePath } from '../distributions/base-path';
import { GUARD_TYPES } from '../distributions/content-guard.service';
import { contentIds, repositoryRefFilter } from './publications.endpoints';
import { deleteEndpoint, type DetailItemRoutes, listEndpoint, pathId, readAndUpdateEndpoints } from './detail-item-endpoints';

type DistributionReg = RegisteredType<DistributionTypeDefinition>;

/**
 * Id of the repository version a distribution (alias `m`) serves: its version, its publication's
 * version, or its repository's latest complete version.
 */
export const SERVED_VERSION_SQL = (m: string) => `COALESCE(${m}.repository_version_id,
  (SELECT sp.repository_version_id FROM core_publication sp WHERE sp.pulp_id = ${m}.publication_id),
  (SELECT sv.pulp_id FROM core_repositoryversion sv WHERE sv.repository_id = ${m}.repository_id AND sv.complete
    ORDER BY sv.number DESC LIMIT 1))`;

/** Distribution list filters (per type and generic). */
export function distributionFilters(def?: DistributionTypeDefinition): SqlFilterSet {
  return {
    name: nameFilter('m.name'),
    base_path: { type: 'string', lookups: ['contains', 'icontains', 'in'], apply: columnFilter('m.base_path', 'string') },
    pulp_label_select: labelSelectFilter('m.pulp_labels'),
    ...identityFilters('m.pulp_id', ['distributions']),
    repository: repositoryRefFilter('m.repository_id'),
    with_content: {
      type: 'string',
      description: 'Filter distributions based on the content served by them',
      apply: (w, _l, raw) => {
        const ids = contentIds('with_content', raw, 'exact');
        w.add(`EXISTS (SELECT 1 FROM core_repositoryversion wv
                         JOIN core_repositorycontent rc ON rc.repository_id = wv.repository_id
                        WHERE wv.pulp_id = ${SERVED_VERSION_SQL('m')}
                          AND rc.content_id = ANY(${w.p(ids)}::uuid[]) AND ${IN_VERSION('rc', 'wv.number')})`);
      },
    },
    ...fromFieldFilters(def?.filters, 'd', 'm'),
  };
}

const pluginOf = (pulpType: string) => pulpType.slice(0, pulpType.indexOf('.'));
const isCleared = (v: unknown) => v === null || v === '';

const PRN_RE = /^prn:core\.([a-z_]+):([0-9a-f-]{36})$/i;

/** A content guard href or PRN → its id (400 on `content_guard` otherwise). */
async function resolveGuard(p: Platform, value: string): Promise<string> {
  let id: string | null = null;
  let type: string | undefined;
  const prnMatch = PRN_RE.exec(value);
  if (prnMatch && UUID_RE.test(prnMatch[2]!)) id = prnMatch[2]!.toLowerCase();
  else {
    const h = parseHref(value);
    if (h && h.kind === 'contentguards' && h.plugin === 'core') {
      type = GUARD_TYPES.find((g) => g.endpoint === h.endpoint)?.pulpType;
      if (type) id = h.id;
    }
  }
  if (!id) throw fieldError('content_guard', `Invalid hyperlink - No URL match. (${JSON.stringify(value).slice(0, 200)})`);
  const row = await p.db.one<{ pulp_type: string }>('SELECT pulp_type FROM core_contentguard WHERE pulp_id = $1', [id]);
  if (!row || (type && row.pulp_type !== type)) throw fieldError('content_guard', 'Invalid hyperlink - Object does not exist.');
  return id;
}

type TargetColumns = Partial<Record<'content_guard_id' | 'publication_id' | 'repository_id' | 'repository_version_id', string | null>>;

/** Resolves the reference fields present in a body to ids (same plugin as the distribution type). */
async function resolveTargets(p: Platform, reg: DistributionReg, body: Record<string, unknown>): Promise<TargetColumns> {
  const out: TargetColumns = {};
  const plugin = pluginOf(reg.pulpType);
  if (body.content_guard !== undefined) out.content_guard_id = isCleared(body.content_guard) ? null : await resolveGuard(p, body.content_guard as string);
  if (body.repository !== undefined) {
    if (isCleared(body.repository)) out.repository_id = null;
    else {
      const r = await resolveResourceRef(p, 'repository', body.repository, 'repositories');
      if (pluginOf(r.pulpType) !== plugin) throw fieldError('repository', `A ${r.pulpType} repository cannot be served by a ${reg.pulpType} distribution.`);
      out.repository_id = r.id;
    }
  }
  if (body.repository_version !== undefined) {
    if (isCleared(body.repository_version)) out.repository_version_id = null;
    else {
      const v = await requireVersion(p, 'repository_version', body.repository_version);
      if (pluginOf(v.repositoryType) !== plugin) {
        throw fieldError('repository_version', `A version of a ${v.repositoryType} repository cannot be served by a ${reg.pulpType} distribution.`);
      }
      out.repository_version_id = v.versionId;
    }
  }
  if (body.publication !== undefined) {
    if (isCleared(body.publication)) out.publication_id = null;
    else {
      const pub = await resolveResourceRef(p, 'publication', body.publication, 'publications');
      const complete = await p.db.one('SELECT 1 FROM core_publication WHERE pulp_id = $1 AND complete', [pub.id]);
      if (!complete) throw fieldError('publication', 'Invalid hyperlink - Object does not exist.');
      if (pluginOf(pub.pulpType) !== plugin) throw fieldError('publication', `A ${pub.pulpType} publication cannot be served by a ${reg.pulpType} distribution.`);
      out.publication_id = pub.id;
    }
  }
  return out;
}

function assertOneTarget(merged: TargetColumns): void {
  const set = (['publication_id', 'repository_id', 'repository_version_id'] as const).filter((k) => merged[k]);
  if (set.length > 1) {
    throw fieldErrors({
      non_field_errors: ["Only one of the attributes 'publication', 'repository' and 'repository_version' may be used simultaneously."],
    });
  }
}

function masterColumns(body: Record<string, unknown>, targets: TargetColumns): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (body.name !== undefined) out.name = body.name;
  if (body.base_path !== undefined) out.base_path = body.base_path;
  if (body.hidden !== undefined) out.hidden = body.hidden;
  if (body.pulp_labels !== undefined) out.pulp_labels = JSON.stringify(body.pulp_labels);
  Object.assign(out, targets);
  return out;
}

function isPg(e: unknown, code: string, constraint?: string): boolean {
  const pg = e as { code?: string; constraint?: string } | undefined;
  return pg?.code === code && (!constraint || pg.constraint === constraint);
}

/** Unique-index clashes the nesting check cannot see (a concurrent rename of the same name). */
function uniqueError(e: unknown): never {
  if (isPg(e, '23505', 'core_distribution_name_uniq')) throw fieldError('name', 'This field must be unique.');
  if (isPg(e, '23505', 'core_distribution_base_path_uniq')) throw fieldError('base_path', 'This field must be unique.');
  throw e;
}

/**
 * Distributions, synchronous (201/200/204 rather than Pulp's 202 + task): a distribution change
 * is one row write, and the base-path nesting check runs in the writing transaction under an
 * advisory lock, which is what Pulp's exclusive `distribution.base_path` task lock buys.
 */
export function distributionEndpoints(p: Platform): Endpoint[] {
  const svc = new MasterDetailService(p);
  return [...p.registry.distributionTypes.values()].flatMap((reg) => typeEndpoints(p, svc, reg));
}

function typeEndpoints(p: Platform, svc: MasterDetailService, reg: DistributionReg): Endpoint[] {
  const spec = DISTRIBUTION_KIND;
  const base = collectionPath('distributions', reg);
  const item = `${base}:pulp_id/`;
  const op = `distributions_${reg.plugin.id}_${reg.endpoint}`.replace(/-/g, '_');
  const hrefParam = hrefParamName(reg, 'distribution');
  const schema = `${reg.plugin.id}.${titleCase(reg.def.type)}Distribution`;
  const tag = `Distributions: ${titleCase(reg.endpoint)}`;
  const coreDto = reg.def.serveFromPublication ? PublicationDistributionCoreDto : DistributionCoreDto;
  const createDto = combineDtos(schema, coreDto, reg.def.dto);
  const patchDto = partialDto(`Patched${schema}`, createDto);
  const filters = distributionFilters(reg.def);
  const response = { schema: `${schema}Response` };

  const update = async (ctx: RequestContext): Promise<JsonObject> => {
    const id = pathId(ctx);
    const body = ctx.body as Record<string, unknown>;
    if (body.base_path !== undefined) validateBasePath(body.base_path as string);
    const targets = await resolveTargets(p, reg, body);
    const detail = await svc.detailValues(reg, body);
    const table = await svc.detailTable(reg); // loaded before the transaction pins a connection
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await svc.readRow(spec, id, reg.pulpType);
      if (!row) throw notFound();
      const current = (await svc.serializeRows(spec, [row]))[0]!;
      if (!ifMatchSatisfied(ctx.ifMatch, etagOf(current))) throw preconditionFailed();
      assertOneTarget({
        publication_id: row.publication_id, repository_id: row.repository_id, repository_version_id: row.repository_version_id, ...targets,
      });
      const master = masterColumns(body, targets);
      const ok = await p.db.transaction(async (tx) => {
        if (master.base_path !== undefined && master.base_path !== row.base_path) {
          await lockBasePaths(tx);
          await assertNoOverlap(tx, master.base_path as string, id);
        }
        if (!(await updateRow(tx, id, row, master))) return false;
        if (table && detail.size) {
          const sets = [...detail.keys()].map((c, i) => `${quoteIdent(c)} = $${i + 2}`);
          await tx.query(`UPDATE ${table.sql} SET ${sets.join(', ')} WHERE ${quoteIdent(table.ptr)} = $1`, [id, ...detail.values()]);
        }
        return true;
      });
      if (ok) return (await svc.read(spec, id, reg.pulpType))!;
      if (ctx.ifMatch !== undefined) throw preconditionFailed();
    }
    throw preconditionFailed();
  };

  const routes: DetailItemRoutes = { svc, spec, reg, base, item, hrefParam, op, tag, createDto, patchDto, response };
  return [
    listEndpoint(routes, filters),
    {
      method: 'POST', path: base, openapiPath: base, operationId: `${op}_create`, tag,
      body: { dto: createDto },
      responses: { 201: response },
      handler: async (ctx) => {
        const body = ctx.body as Record<string, unknown>;
        validateBasePath(body.base_path as string);
        const targets = await resolveTargets(p, reg, body);
        assertOneTarget(targets);
        const master = masterColumns(body, targets);
        const detail = await svc.detailValues(reg, body);
        await svc.detailTable(reg);
        const id = uuid7();
        const created = await p.db.transaction(async (tx) => {
          await lockBasePaths(tx);
          await assertNoOverlap(tx, body.base_path as string, null);
          await svc.insert(tx, spec, reg, id, master, detail).catch(uniqueError);
          return svc.read(spec, id, reg.pulpType, tx);
        });
        return { status: 201, body: created! };
      },
    },
    ...readAndUpdateEndpoints(routes, update),
    deleteEndpoint(routes, { 204: {} }, async (ctx, id) => {
      await svc.delete(spec, reg, id);
      return { status: 204 };
    }),
  ];
}

/** Conditional update of the master row (still the version we read); false when someone else won. */
async function updateRow(tx: Db, id: string, current: Row, master: Record<string, unknown>): Promise<boolean> {
  const sets = Object.keys(master).map((c, i) => `${quoteIdent(c)} = $${i + 3}`);
  sets.push(`pulp_last_updated = GREATEST(clock_timestamp(), pulp_last_updated + interval '1 microsecond')`);
  try {
    const r = await tx.query(
      `UPDATE core_distribution SET ${sets.join(', ')} WHERE pulp_id = $1 AND pulp_last_updated = $2::timestamptz RETURNING pulp_id`,
      [id, current.pulp_last_updated, ...Object.values(master)],
    );
    return r.length > 0;
  } catch (e) {
    return uniqueError(e);
  }
}

