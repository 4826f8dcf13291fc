import type { ExportSet } from '@pith/plugin-api';
import { IN_VERSION } from '../repositories/version.service';

/** One repository version (and, for incremental exports, its base) as the export engine sees it. */
export interface VersionSpan {
  repositoryId: string;
  number: number;
  baseNumber: number | null;
}

/**
 * SQL selecting the content ids (column `content_id`) of `set` for a version span, with parameters
 * from `$<first>`. Membership ranges make each one index range scan; `EXCEPT` keeps a unit that was
 * removed and re-added between base and target out of both `added` and `removed`.
 */
export function contentIdsQuery(span: VersionSpan, set: ExportSet, first: number): { sql: string; params: unknown[] } {
  const repo = `$${first}::uuid`;
  const target = `$${first + 1}::int`;
  const base = `$${first + 2}::int`;
  const present = (n: string) => `SELECT rc.content_id FROM core_repositorycontent rc WHERE rc.repository_id = ${repo} AND ${IN_VERSION('rc', n)}`;
  if (set === 'present') return { sql: present(target), params: [span.repositoryId, span.number] };
  if (span.baseNumber === null) throw new Error(`an '${set}' set needs a base version`);
  const params = [span.repositoryId, span.number, span.baseNumber];
  if (set === 'added') return { sql: `(${present(target)} AND rc.version_added > ${base}) EXCEPT (${present(base)})`, params };
  return { sql: `(${present(base)} AND rc.version_removed IS NOT NULL AND rc.version_removed <= ${target}) EXCEPT (${present(target)})`, params };
}

/**
 * SQL selecting the artifact ids (column `artifact_id`) a version span needs carried in an export:
 * every artifact of a full export's content; for an incremental one only those of added content
 * that the base version did not already reference (the importer has those). Content artifacts
 * without an artifact (on_demand, streamed) are not selected: `missingArtifactsQuery` finds them.
 */
export function artifactIdsQuery(span: VersionSpan, first: number): { sql: string; params: unknown[] } {
  const ofContent = (q: { sql: string }) =>
    `SELECT ca.artifact_id FROM core_contentartifact ca WHERE ca.artifact_id IS NOT NULL AND ca.content_id IN (${q.sql})`;
  if (span.baseNumber === null) {
    const q = contentIdsQuery(span, 'present', first);
    return { sql: ofContent(q), params: q.params };
  }
  const added = contentIdsQuery(span, 'added', first);
  const base = contentIdsQuery({ ...span, number: span.baseNumber, baseNumber: null }, 'present', first + 3);
  return { sql: `(${ofContent(added)}) EXCEPT (${ofContent(base)})`, params: [...added.params, ...base.params] };
}

/** Content artifacts of the exported content that have no stored artifact (not exportable). */
export function missingArtifactsQuery(span: VersionSpan, first: number): { sql: string; params: unknown[] } {
  const q = contentIdsQuery(span, span.baseNumber === null ? 'present' : 'added', first);
  return {
    sql: `SELECT ca.relative_path FROM core_contentartifact ca WHERE ca.artifact_id IS NULL AND ca.content_id IN (${q.sql})`,
    params: q.params,
  };
}
