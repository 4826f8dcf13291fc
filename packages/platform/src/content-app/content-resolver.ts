import type { Row } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { IN_VERSION } from '../repositories/version.service';
import { escapeLike } from '../publications/relative-path';
import type { ServeTarget } from './distribution-cache';
import type { ListingEntry } from './directory-listing';
import type { ServedFile } from './file-sender';
import { LruCache } from './lru-cache';

/** A content artifact that is not downloaded yet (on-demand / streamed). */
export interface OnDemandArtifact {
  contentArtifactId: string;
  relativePath: string;
  /** Expected values from its remote artifact, when known. */
  size: number | null;
  sha256: string | null;
}

export type Resolution =
  | { kind: 'file'; file: ServedFile }
  | { kind: 'ondemand'; artifact: OnDemandArtifact }
  /** A directory requested without its trailing slash. */
  | { kind: 'directory' }
  | { kind: 'listing'; entries: ListingEntry[] }
  | { kind: 'missing' };

type Target = Exclude<ServeTarget, { kind: 'none' }>;

const PATH_ENTRIES = 100_000;
/** Listing rows fetched at most (a directory larger than this is cut, never loaded whole). */
const MAX_LISTING = 100_000;

/**
 * Resolves a path inside what a distribution serves (Pulp's order): published metadata, then
 * published artifacts by exact relative path, then (pass-through publications and
 * version-serving distributions) the version's content artifacts by relative path; a path with
 * entries below it is a directory. Targets are immutable, so file hits, "is a directory" and
 * misses are cached per (target, path); on-demand hits are not (they turn into files once fetched).
 */
export class ContentResolver {
  private readonly cache = new LruCache<string, Resolution>(PATH_ENTRIES);
  /** Listings of immutable targets, bounded by their total number of entries. */
  private readonly listings = new LruCache<string, ListingEntry[]>(1000, 200_000, (e) => e.length + 1);

  constructor(private readonly p: Platform) {}

  /** Drops one cached answer (its artifact file turned out to be missing). */
  forget(target: Target, path: string): void {
    this.cache.delete(`${target.key}\0${path}`);
  }

  /** `path` is relative to the distribution; `dir` when the request ended with a slash. */
  async resolve(target: Target, path: string, dir: boolean): Promise<Resolution> {
    if (dir) {
      const index = path === '' ? 'index.html' : `${path}/index.html`;
      const hit = await this.exact(target, index);
      if (hit.kind === 'file' || hit.kind === 'ondemand') return hit;
      const entries = await this.listing(target, path === '' ? '' : `${path}/`);
      if (path !== '' && entries.length === 0) return { kind: 'missing' };
      return { kind: 'listing', entries };
    }
    const hit = await this.exact(target, path);
    if (hit.kind !== 'missing') return hit;
    const key = `${target.key}\0${path}/`;
    const known = this.cache.get(key);
    if (known) return known;
    const isDir: Resolution = (await this.hasEntriesBelow(target, `${path}/`)) ? { kind: 'directory' } : { kind: 'missing' };
    this.cache.set(key, isDir);
    return isDir;
  }

  private async exact(target: Target, path: string): Promise<Resolution> {
    const key = `${target.key}\0${path}`;
    const known = this.cache.get(key);
    if (known) return known;
    const parts: string[] = [];
    const params: unknown[] = [path];
    const artifactCols = `a.file, a.size, a.sha256, a.pulp_created AS ts, ca.pulp_id AS ca_id, ra.size AS ra_size, ra.sha256 AS ra_sha256`;
    const remoteJoin = `LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id
      LEFT JOIN LATERAL (SELECT r.size, r.sha256 FROM core_remoteartifact r
                          WHERE r.content_artifact_id = ca.pulp_id AND ca.artifact_id IS NULL
                          ORDER BY r.pulp_created LIMIT 1) ra ON true`;
    if (target.kind === 'publication') {
      params.push(target.publicationId);
      parts.push(`SELECT 1 AS pri, a.file, a.size, a.sha256, pm.pulp_created AS ts, NULL::uuid AS ca_id, NULL::bigint AS ra_size, NULL::text AS ra_sha256
                    FROM core_publishedmetadata pm JOIN core_artifact a ON a.pulp_id = pm.artifact_id
                   WHERE pm.publication_id = $2 AND pm.relative_path = $1`);
      parts.push(`SELECT 2 AS pri, ${artifactCols}
                    FROM core_publishedartifact pa JOIN core_contentartifact ca ON ca.pulp_id = pa.content_artifact_id ${remoteJoin}
                   WHERE pa.publication_id = $2 AND pa.relative_path = $1`);
    }
    if (target.kind === 'version' || target.passThrough) {
      params.push(target.repositoryId, target.versionNumber);
      const r = `$${params.length - 1}`;
      const n = `$${params.length}::int`;
      parts.push(`SELECT 3 AS pri, ${artifactCols}
                    FROM core_contentartifact ca
                    JOIN core_repositorycontent rc ON rc.content_id = ca.content_id AND rc.repository_id = ${r} AND ${IN_VERSION('rc', n)}
                    ${remoteJoin}
                   WHERE ca.relative_path = $1`);
    }
    const rows = await this.p.db.query(`SELECT * FROM (${parts.join(' UNION ALL ')}) x ORDER BY pri LIMIT 1`, params);
    const row = rows[0];
    let res: Resolution;
    if (!row) res = { kind: 'missing' };
    else if (row.file) res = { kind: 'file', file: this.toFile(row, path, target) };
    else {
      return {
        kind: 'ondemand',
        artifact: {
          contentArtifactId: row.ca_id,
          relativePath: path,
          size: row.ra_size === null || row.ra_size === undefined ? null : Number(row.ra_size),
          sha256: row.ra_sha256 ?? null,
        },
      };
    }
    this.cache.set(key, res);
    return res;
  }

  private toFile(row: Row, path: string, target: Target): ServedFile {
    const metadata = row.pri === 1;
    return {
      file: row.file,
      size: Number(row.size),
      sha256: row.sha256,
      // Metadata changes with each publication under the same URL: its date is the publication's.
      lastModified: metadata ? new Date(target.created) : new Date(row.ts),
      metadata,
      relativePath: path,
    };
  }

  /** Sources of paths below `prefix` as SQL (each selecting `relative_path`, `size`, `ts`). */
  private sources(target: Target, params: unknown[], withDetails: boolean): string[] {
    const out: string[] = [];
    const like = '$1';
    if (target.kind === 'publication') {
      params.push(target.publicationId);
      const pub = `$${params.length}`;
      out.push(withDetails
        ? `SELECT pm.relative_path, a.size, pm.pulp_created AS ts FROM core_publishedmetadata pm JOIN core_artifact a ON a.pulp_id = pm.artifact_id
            WHERE pm.publication_id = ${pub} AND pm.relative_path LIKE ${like} ESCAPE '\\'`
        : `SELECT pm.relative_path FROM core_publishedmetadata pm WHERE pm.publication_id = ${pub} AND pm.relative_path LIKE ${like} ESCAPE '\\'`);
      out.push(withDetails
        ? `SELECT pa.relative_path, COALESCE(a.size, (SELECT r.size FROM core_remoteartifact r WHERE r.content_artifact_id = ca.pulp_id ORDER BY r.pulp_created LIMIT 1)) AS size,
                  pa.pulp_created AS ts
             FROM core_publishedartifact pa JOIN core_contentartifact ca ON ca.pulp_id = pa.content_artifact_id
             LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id
            WHERE pa.publication_id = ${pub} AND pa.relative_path LIKE ${like} ESCAPE '\\'`
        : `SELECT pa.relative_path FROM core_publishedartifact pa WHERE pa.publication_id = ${pub} AND pa.relative_path LIKE ${like} ESCAPE '\\'`);
    }
    if (target.kind === 'version' || target.passThrough) {
      params.push(target.repositoryId, target.versionNumber);
      const r = `$${params.length - 1}`;
      const n = `$${params.length}::int`;
      out.push(`SELECT ca.relative_path${withDetails
        ? `, COALESCE(a.size, (SELECT rr.size FROM core_remoteartifact rr WHERE rr.content_artifact_id = ca.pulp_id ORDER BY rr.pulp_created LIMIT 1)) AS size, ca.pulp_created AS ts`
        : ''}
          FROM core_contentartifact ca
          JOIN core_repositorycontent rc ON rc.content_id = ca.content_id AND rc.repository_id = ${r} AND ${IN_VERSION('rc', n)}
          ${withDetails ? 'LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id' : ''}
         WHERE ca.relative_path LIKE ${like} ESCAPE '\\'`);
    }
    return out;
  }

  private async hasEntriesBelow(target: Target, prefix: string): Promise<boolean> {
    const params: unknown[] = [`${escapeLike(prefix)}%`];
    const parts = this.sources(target, params, false).map((s) => `EXISTS (${s})`);
    const row = await this.p.db.one<{ found: boolean }>(`SELECT (${parts.join(' OR ')}) AS found`, params);
    return !!row?.found;
  }

  /** Immediate children of `prefix` (`''` for the top), grouped in SQL: directories once, files with size. */
  async listing(target: Target, prefix: string): Promise<ListingEntry[]> {
    const key = `${target.key}\0${prefix}`;
    const known = this.listings.get(key);
    if (known) return known;
    const params: unknown[] = [`${escapeLike(prefix)}%`, prefix];
    const union = this.sources(target, params, true).join(' UNION ALL ');
    const rows = await this.p.db.query(
      `SELECT name, bool_or(is_dir) AS is_dir, max(size) AS size, max(ts) AS ts FROM (
         SELECT split_part(substr(s.relative_path, length($2::text) + 1), '/', 1) AS name,
                strpos(substr(s.relative_path, length($2::text) + 1), '/') > 0 AS is_dir, s.size, s.ts
           FROM (${union}) s
       ) e GROUP BY name ORDER BY name LIMIT ${MAX_LISTING}`,
      params,
    );
    const entries = rows.map((r) => ({
      name: r.name as string,
      isDir: r.is_dir as boolean,
      size: r.is_dir || r.size === null ? null : Number(r.size),
      modified: r.is_dir ? null : r.ts ? new Date(r.ts) : null,
    }));
    this.listings.set(key, entries);
    return entries;
  }
}
