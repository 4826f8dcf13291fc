import type { Platform } from '../platform';
import type { Db } from '../db/db';
import { badRequest, fieldError } from '../http/errors';
import { parseHref } from '../http/hrefs';
import { quoteIdent } from '../http/sql-filters';
import { UUID_RE } from '../util/uuid7';
import type { ResourceKind } from '../plugins/plugin-registry';
import type { ContentCounts } from '../db/entities/repository.entity';
import { readSummary } from '../repositories/version-summary';
import { resourcePrn } from './resource-kinds';

const PRN_RE = /^prn:([a-z0-9_]+)\.([a-z0-9_]+):([0-9a-f-]{36})$/i;

export interface ResolvedRef {
  id: string;
  pulpType: string;
}

/** The PRN model suffix of each kind (`prn:file.filerepository:<id>`). */
const SINGULAR: Record<ResourceKind, string> = {
  repositories: 'repository',
  remotes: 'remote',
  publications: 'publication',
  distributions: 'distribution',
};

const MASTER_TABLE: Record<ResourceKind, string> = {
  repositories: 'core_repository',
  remotes: 'core_remote',
  publications: 'core_publication',
  distributions: 'core_distribution',
};

/**
 * Resolves a body field holding an href (or PRN) of a master/detail object: it must be well
 * formed, of the right kind, exist, and (when given) be one of `allowedTypes`. Field-level 400s
 * otherwise, with DRF's wording.
 */
export async function resolveResourceRef(
  p: Platform, field: string, value: unknown, kind: ResourceKind, allowedTypes?: string[], db: Db = p.db,
): Promise<ResolvedRef> {
  const invalid = () => fieldError(field, `Invalid hyperlink - No URL match. (${JSON.stringify(value)?.slice(0, 200)})`);
  if (typeof value !== 'string') throw fieldError(field, 'Incorrect type. Expected URL string.');
  let id: string;
  let hrefType: string | undefined;
  const prnMatch = PRN_RE.exec(value);
  if (prnMatch && UUID_RE.test(prnMatch[3]!)) id = prnMatch[3]!.toLowerCase();
  else {
    const h = parseHref(value);
    if (!h || h.kind !== kind || h.version !== undefined) throw invalid();
    const reg = p.registry.byEndpoint(p.registry.typesOf(kind), h.plugin!, h.endpoint!);
    if (!reg) throw invalid();
    hrefType = reg.pulpType;
    id = h.id;
  }
  const row = await db.one<{ pulp_type: string }>(`SELECT pulp_type FROM ${quoteIdent(MASTER_TABLE[kind])} WHERE pulp_id = $1`, [id]);
  if (!row || (hrefType && row.pulp_type !== hrefType)) throw fieldError(field, 'Invalid hyperlink - Object does not exist.');
  // A PRN names its model too: an artifact's PRN carrying this object's id does not name it.
  if (prnMatch && resourcePrn(row.pulp_type, SINGULAR[kind], id) !== value.toLowerCase()) {
    throw fieldError(field, `Invalid PRN - not a ${SINGULAR[kind]}: ${JSON.stringify(value).slice(0, 200)}`);
  }
  if (allowedTypes && !allowedTypes.includes(row.pulp_type)) {
    throw fieldError(field, `Invalid type: ${row.pulp_type} is not one of ${allowedTypes.join(', ')}.`);
  }
  return { id, pulpType: row.pulp_type };
}

export interface VersionRef {
  repositoryId: string;
  repositoryType: string;
  versionId: string;
  number: number;
  summary: ContentCounts;
}

/** Parses a repository version href (or PRN) to a complete version; null when malformed. */
export async function findVersion(p: Platform, value: string, db: Db = p.db): Promise<VersionRef | null | 'missing'> {
  let where: string;
  let params: unknown[];
  const prnMatch = PRN_RE.exec(value);
  if (prnMatch && prnMatch[1]!.toLowerCase() === 'core' && prnMatch[2]!.toLowerCase() === 'repositoryversion' && UUID_RE.test(prnMatch[3]!)) {
    where = 'v.pulp_id = $1';
    params = [prnMatch[3]!.toLowerCase()];
  } else {
    const h = parseHref(value);
    if (!h || h.kind !== 'repositories' || h.version === undefined) return null;
    const reg = p.registry.byEndpoint(p.registry.repositoryTypes, h.plugin!, h.endpoint!);
    if (!reg) return null;
    where = 'v.repository_id = $1 AND v.number = $2 AND r.pulp_type = $3';
    params = [h.id, h.version, reg.pulpType];
  }
  const row = await db.one<{ pulp_id: string; repository_id: string; pulp_type: string; number: number; content_summary: unknown }>(
    `SELECT v.pulp_id, v.repository_id, r.pulp_type, v.number, v.content_summary
       FROM core_repositoryversion v JOIN core_repository r ON r.pulp_id = v.repository_id
      WHERE ${where} AND v.complete`,
    params,
  );
  if (!row) return 'missing';
  return {
    repositoryId: row.repository_id,
    repositoryType: row.pulp_type,
    versionId: row.pulp_id,
    number: row.number,
    summary: readSummary(row.content_summary),
  };
}

/** A version reference in a body field: 400 naming the field when malformed or unknown. */
export async function requireVersion(p: Platform, field: string, value: unknown, db: Db = p.db): Promise<VersionRef> {
  const v = typeof value === 'string' ? await findVersion(p, value, db) : null;
  if (v === null) throw fieldError(field, `Invalid hyperlink - not a repository version href: ${JSON.stringify(value)?.slice(0, 200)}`);
  if (v === 'missing') throw fieldError(field, 'Invalid hyperlink - Object does not exist.');
  return v;
}

/** A version reference in a query filter: 400 naming the filter. */
export async function filterVersion(p: Platform, name: string, value: string): Promise<VersionRef> {
  const v = await findVersion(p, value);
  if (v === null) throw badRequest(`Invalid value for filter '${name}': '${value.slice(0, 200)}' is not a repository version href.`);
  if (v === 'missing') throw badRequest(`Invalid value for filter '${name}': repository version '${value.slice(0, 200)}' does not exist.`);
  return v;
}
