import type { FilterSet } from '@pith/plugin-api';
import type { Endpoint, RequestContext } from '../http/endpoint';
import { badRequest, conflict, fieldError, fieldErrors, notFound, preconditionFailed } from '../http/errors';
import { API_ROOT, parseHref } from '../http/hrefs';
import { paginated, readPage } from '../http/pagination';
import { etagFor } from '../http/router';
import { applyFieldSelection } from '../http/field-selection';
import { applyFilters, columnFilter, orderBy, SqlWhere, type SqlFilterSet } from '../http/sql-filters';
import type { Platform } from '../platform';
import { Artifact as ArtifactBody } from '../storage/artifact.dto';
import { ARTIFACT_RESPONSE_SCHEMA, serializeArtifact } from '../storage/artifact.serializer';
import { toArtifactRow } from '../storage/artifact-storage.service';
import { ArtifactExistsError, ArtifactVerificationError } from '../storage/artifact-verification.error';
import { ALL_DIGESTS, type ExpectedFile } from '../storage/hashing';
import { UUID_RE } from '../util/uuid7';

const COLLECTION = `${API_ROOT}artifacts/`;
const COLUMNS = 'a.pulp_id, a.pulp_created, a.pulp_last_updated, a.file, a.size, a.md5, a.sha1, a.sha224, a.sha256, a.sha384, a.sha512, a.timestamp_of_interest';

/** Documented filters (the SQL for each is in `sqlFilters`). */
const FILTERS: FilterSet = {
  ...Object.fromEntries(ALL_DIGESTS.map((d) => [d, { column: d, type: 'string' as const }])),
  pulp_id: { column: 'pulp_id', type: 'uuid', lookups: ['in'] },
  pulp_href: { column: 'pulp_id', type: 'string', lookups: ['in'] },
  repository_version: { column: 'pulp_id', type: 'string' },
  orphaned_for: { column: 'timestamp_of_interest', type: 'string' },
};

const ORDERING: Record<string, string> = {
  pulp_id: 'a.pulp_id', pulp_created: 'a.pulp_created', pulp_last_updated: 'a.pulp_last_updated',
  file: 'a.file', size: 'a.size', md5: 'a.md5', sha1: 'a.sha1', sha224: 'a.sha224', sha256: 'a.sha256', sha384: 'a.sha384', sha512: 'a.sha512',
  timestamp_of_interest: 'a.timestamp_of_interest',
};

/** SQL "this artifact is not used by any content or published metadata". */
export const ARTIFACT_UNREFERENCED_SQL = (alias: string) =>
  `NOT EXISTS (SELECT 1 FROM core_contentartifact ca WHERE ca.artifact_id = ${alias}.pulp_id)
   AND NOT EXISTS (SELECT 1 FROM core_publishedmetadata pm WHERE pm.artifact_id = ${alias}.pulp_id)`;

function idFromHrefs(name: string, raw: string): string[] {
  return raw.split(',').filter(Boolean).map((h) => {
    const parsed = parseHref(h.trim());
    if (!parsed || parsed.kind !== 'artifacts') throw badRequest(`Invalid value for filter '${name}': '${h}' is not an artifact href.`);
    return parsed.id;
  });
}

function sqlFilters(p: Platform): SqlFilterSet {
  const digestFilters: SqlFilterSet = Object.fromEntries(
    ALL_DIGESTS.map((d) => [d, { type: 'string' as const, apply: columnFilter(`a.${d}`, 'string') }]),
  );
  return {
    ...digestFilters,
    pulp_id: { type: 'uuid', lookups: ['in'], apply: columnFilter('a.pulp_id', 'uuid') },
    pulp_href: {
      type: 'string',
      lookups: ['in'],
      apply: (w, _lookup, raw) => {
        w.add(`a.pulp_id = ANY(${w.p(idFromHrefs('pulp_href__in', raw))}::uuid[])`);
      },
    },
    repository_version: {
      type: 'href',
      description: 'Artifacts of the content present in this repository version.',
      apply: async (w, _lookup, raw) => {
        const v = parseHref(raw);
        if (!v || v.kind !== 'repositories' || v.version === undefined) {
          throw fieldError('repository_version', `Invalid hyperlink - not a valid repository version href: ${JSON.stringify(raw.slice(0, 200))}`);
        }
        const exists = await p.db.one(
          'SELECT 1 FROM core_repositoryversion WHERE repository_id = $1 AND number = $2 AND complete',
          [v.id, v.version],
        );
        if (!exists) throw fieldError('repository_version', 'Invalid hyperlink - Object does not exist.');
        const repo = w.p(v.id);
        const n = w.p(v.version);
        w.add(`a.pulp_id IN (SELECT ca.artifact_id FROM core_contentartifact ca
                  JOIN core_repositorycontent rc ON rc.content_id = ca.content_id
                 WHERE rc.repository_id = ${repo} AND rc.version_added <= ${n}
                   AND (rc.version_removed IS NULL OR rc.version_removed > ${n}) AND ca.artifact_id IS NOT NULL)`);
      },
    },
    orphaned_for: {
      type: 'string',
      description: 'Minutes the artifact has been orphaned for; -1 uses PITH_ORPHAN_PROTECTION_TIME.',
      apply: (w, _lookup, raw) => {
        const minutes = Number(raw);
        if (!/^-?\d+(\.\d+)?$/.test(raw) || (minutes < 0 && minutes !== -1)) {
          throw badRequest(`Invalid value for filter 'orphaned_for': '${raw}' is not a number of minutes (or -1).`);
        }
        const m = minutes === -1 ? p.config.PITH_ORPHAN_PROTECTION_TIME : minutes;
        w.add(`${ARTIFACT_UNREFERENCED_SQL('a')} AND a.timestamp_of_interest <= now() - make_interval(secs => ${w.p(m * 60)})`);
      },
    },
  };
}

/** `If-Match` against the current representation; 412 when it is stale. */
export function checkIfMatch(ctx: RequestContext, current: Record<string, unknown>): void {
  if (!ctx.ifMatch || ctx.ifMatch.trim() === '*') return;
  const etag = etagFor(current);
  const given = ctx.ifMatch.split(',').map((s) => s.trim().replace(/^W\//, ''));
  if (!etag || !given.includes(etag)) throw preconditionFailed();
}

function idParam(ctx: RequestContext): string {
  const id = ctx.params.pulp_id ?? '';
  if (!UUID_RE.test(id)) throw notFound();
  return id.toLowerCase();
}

export function artifactEndpoints(p: Platform): Endpoint[] {
  const filters = sqlFilters(p);
  const tag = 'Artifacts';

  const create: Endpoint = {
    method: 'POST',
    path: COLLECTION,
    openapiPath: COLLECTION,
    operationId: 'artifacts_create',
    tag,
    summary: 'Create an artifact from an uploaded file (digests and size given are verified).',
    body: { dto: ArtifactBody, encodings: ['multipart', 'form'], fileFields: ['file'], required: true },
    responses: { 201: { schema: ARTIFACT_RESPONSE_SCHEMA } },
    async handler(ctx) {
      const body = ctx.body as ArtifactBody;
      const expected: ExpectedFile = {};
      const forbidden: Record<string, string[]> = {};
      for (const d of ALL_DIGESTS) {
        const v = body[d];
        if (v === undefined) continue;
        if (!p.artifacts.digests.includes(d)) {
          forbidden[d] = [`Checksum algorithm ${d} is not allowed on this server (allowed: ${p.artifacts.digests.join(', ')}).`];
        } else expected[d] = v.toLowerCase();
      }
      if (Object.keys(forbidden).length) throw fieldErrors(forbidden);
      if (body.size !== undefined) expected.size = body.size;
      try {
        const row = await p.artifacts.saveReceived(body.file, expected, { rejectExisting: true });
        return { status: 201, body: serializeArtifact(row) };
      } catch (e) {
        if (e instanceof ArtifactVerificationError) throw fieldError(e.field, e.message);
        // Pulp answers a re-upload of existing bytes with a validation error (clients look up sha256 first).
        if (e instanceof ArtifactExistsError) throw fieldErrors({ non_field_errors: [e.message] });
        throw e;
      }
    },
  };

  const list: Endpoint = {
    method: 'GET',
    path: COLLECTION,
    openapiPath: COLLECTION,
    operationId: 'artifacts_list',
    tag,
    list: true,
    filters: FILTERS,
    responses: { 200: { schema: ARTIFACT_RESPONSE_SCHEMA } },
    async handler(ctx) {
      const w = new SqlWhere();
      await applyFilters(w, filters, ctx.query);
      const page = readPage(ctx.query);
      const order = orderBy(ctx.query.ordering, ORDERING, 'a.pulp_created DESC', 'a.pulp_id DESC');
      const where = w.sql();
      const filterParams = [...w.params];
      const [rows, count] = await Promise.all([
        p.db.query(`SELECT ${COLUMNS} FROM core_artifact a ${where} ${order} LIMIT ${w.p(page.limit)} OFFSET ${w.p(page.offset)}`, w.params),
        p.db.one<{ n: string }>(`SELECT count(*) AS n FROM core_artifact a ${where}`, filterParams),
      ]);
      const body = paginated(rows.map((r) => serializeArtifact(toArtifactRow(r))), Number(count?.n ?? 0), page, ctx.absoluteUrl, ctx.query);
      return { status: 200, body: applyFieldSelection(body, ctx.query) };
    },
  };

  const read: Endpoint = {
    method: 'GET',
    path: `${COLLECTION}:pulp_id/`,
    openapiPath: '{artifact_href}',
    hrefParam: 'artifact_href',
    operationId: 'artifacts_read',
    tag,
    responses: { 200: { schema: ARTIFACT_RESPONSE_SCHEMA } },
    async handler(ctx) {
      const row = await p.artifacts.findById(idParam(ctx));
      if (!row) throw notFound();
      return { status: 200, body: applyFieldSelection(serializeArtifact(row), ctx.query) };
    },
  };

  const remove: Endpoint = {
    method: 'DELETE',
    path: `${COLLECTION}:pulp_id/`,
    openapiPath: '{artifact_href}',
    hrefParam: 'artifact_href',
    operationId: 'artifacts_delete',
    tag,
    summary: 'Delete an artifact that no content unit or publication uses.',
    responses: { 204: { description: 'No response body' } },
    async handler(ctx) {
      const id = idParam(ctx);
      const current = await p.artifacts.findById(id);
      if (!current) throw notFound();
      checkIfMatch(ctx, serializeArtifact(current));
      try {
        await p.db.transaction(async (tx) => {
          const row = await tx.one<{ sha256: string; content: string; published: string }>(
            `SELECT a.sha256,
                    (SELECT count(*) FROM core_contentartifact ca WHERE ca.artifact_id = a.pulp_id) AS content,
                    (SELECT count(*) FROM core_publishedmetadata pm WHERE pm.artifact_id = a.pulp_id) AS published
               FROM core_artifact a WHERE a.pulp_id = $1 FOR UPDATE`,
            [id],
          );
          if (!row) throw notFound();
          if (Number(row.content) > 0 || Number(row.published) > 0) {
            const uses = [
              Number(row.content) > 0 ? `${row.content} content unit(s)` : null,
              Number(row.published) > 0 ? `${row.published} published metadata file(s)` : null,
            ].filter(Boolean).join(' and ');
            throw conflict(`The artifact cannot be deleted because it is used by ${uses}. Remove those first (orphan cleanup removes unused artifacts).`);
          }
          await tx.query('DELETE FROM core_artifact WHERE pulp_id = $1', [id]);
        });
      } catch (e) {
        if ((e as { code?: string }).code === '23503') {
          throw conflict('The artifact cannot be deleted because it is still referenced (it was just linked by another operation).');
        }
        throw e;
      }
      // The file goes only after the row deletion committed, and only if no new row reuses it.
      await p.artifacts.removeFilesIfUnreferenced([{ sha256: current.sha256, file: current.file }]);
      return { status: 204 };
    },
  };

  return [create, list, read, remove];
}
