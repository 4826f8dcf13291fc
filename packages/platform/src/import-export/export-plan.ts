import { TaskError, type Json } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { hrefs } from '../http/hrefs';
import { repositoryHref } from '../resources/resource-hrefs';
import { artifactIdsQuery, contentIdsQuery, missingArtifactsQuery, type VersionSpan } from './version-sets';

/** One repository of an export: which version, from which base, and how much. */
export interface PlannedRepository extends VersionSpan {
  name: string;
  pulpType: string;
  description: string | null;
  versionId: string;
  baseVersionId: string | null;
  contentCount: number;
  addedCount: number | null;
  removedCount: number | null;
}

export interface ExportPlan {
  repositories: PlannedRepository[];
  artifactCount: number;
  artifactBytes: number;
  /** Why the export cannot be written (an empty list: it can). */
  problems: string[];
}

interface VersionRef {
  repository_id: string;
  version_id: string;
}

interface VersionRow {
  version_id: string;
  repository_id: string;
  number: number;
  name: string;
  pulp_type: string;
  description: string | null;
}

async function loadVersions(p: Platform, refs: VersionRef[]): Promise<Map<string, VersionRow>> {
  if (!refs.length) return new Map();
  const rows = await p.db.query<VersionRow>(
    `SELECT v.pulp_id AS version_id, v.repository_id, v.number, r.name, r.pulp_type, r.description
       FROM core_repositoryversion v JOIN core_repository r ON r.pulp_id = v.repository_id
      WHERE v.pulp_id = ANY($1::uuid[]) AND v.complete`,
    [refs.map((r) => r.version_id)],
  );
  return new Map(rows.map((r) => [r.version_id, r]));
}

/**
 * Resolves what an export will contain (versions, bases, counts, deduplicated artifacts) and what
 * stops it, without writing anything: the dry run's answer and the real run's first step.
 * `bases` maps repository id → base version id (absent: full export of that repository).
 * Independent queries run concurrently (each is a round trip of a few ms). With
 * `countArtifacts: false` the artifact totals are left at 0 for the caller to fill in (a real
 * export counts them while listing the artifacts, so the union is not queried twice).
 */
export async function planExport(
  p: Platform,
  versions: VersionRef[],
  bases: Map<string, string>,
  opts: { countArtifacts?: boolean } = {},
): Promise<ExportPlan> {
  const [targets, baseRows] = await Promise.all([
    loadVersions(p, versions),
    loadVersions(p, [...bases.entries()].map(([repository_id, version_id]) => ({ repository_id, version_id }))),
  ]);
  // Per repository: its problems (in order) and its entry, or null when it cannot be planned.
  const planned = await Promise.all(versions.map(async (ref): Promise<{ problems: string[]; repo: PlannedRepository | null }> => {
    const problems: string[] = [];
    const v = targets.get(ref.version_id);
    if (!v) return { problems: [`Repository version ${ref.version_id} no longer exists.`], repo: null };
    const baseId = bases.get(v.repository_id) ?? null;
    const b = baseId ? baseRows.get(baseId) : undefined;
    if (baseId && !b) return { problems: [`The base version of repository '${v.name}' no longer exists; export it in full (full=true).`], repo: null };
    if (b && b.number > v.number) {
      return { problems: [`Repository '${v.name}': start version ${b.number} is newer than the exported version ${v.number}.`], repo: null };
    }
    if (!p.registry.exportableFor(v.pulp_type)) {
      problems.push(`Repository '${v.name}' (${v.pulp_type}) cannot be exported: its plugin declares no ModelResources.`);
    }
    const span: VersionSpan = { repositoryId: v.repository_id, number: v.number, baseNumber: b ? b.number : null };
    const count = async (set: 'present' | 'added' | 'removed') => {
      const q = contentIdsQuery(span, set, 1);
      const [r] = await p.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${q.sql}) s`, q.params);
      return Number(r!.n);
    };
    const missing = missingArtifactsQuery(span, 1);
    const [gaps, contentCount, addedCount, removedCount] = await Promise.all([
      p.db.query<{ relative_path: string }>(`${missing.sql} ORDER BY 1 LIMIT 5`, missing.params),
      count('present'),
      b ? count('added') : null,
      b ? count('removed') : null,
    ]);
    if (gaps.length) {
      problems.push(
        `Repository '${v.name}' version ${v.number} has content whose artifacts were never downloaded (on_demand or streamed), ` +
          `e.g. ${gaps.map((g) => `'${g.relative_path}'`).join(', ')}: only stored artifacts can be exported; sync with policy immediate first.`,
      );
    }
    return {
      problems,
      repo: {
        ...span,
        name: v.name,
        pulpType: v.pulp_type,
        description: v.description,
        versionId: v.version_id,
        baseVersionId: b ? b.version_id : null,
        contentCount,
        addedCount,
        removedCount,
      },
    };
  }));
  const problems = planned.flatMap((x) => x.problems);
  const repositories = planned.flatMap((x) => (x.repo ? [x.repo] : []));
  const { sql, params } = artifactUnion(repositories);
  let artifactCount = 0;
  let artifactBytes = 0;
  if (sql && opts.countArtifacts !== false) {
    const [r] = await p.db.query<{ n: string; bytes: string | null }>(
      `SELECT count(*)::text AS n, sum(a.size)::text AS bytes FROM core_artifact a WHERE a.pulp_id IN (${sql})`,
      params,
    );
    artifactCount = Number(r!.n);
    artifactBytes = Number(r!.bytes ?? 0);
  }
  return { repositories, artifactCount, artifactBytes, problems };
}

/** Union of the artifact sets of all repositories (each artifact once). */
export function artifactUnion(repos: VersionSpan[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const r of repos) {
    const q = artifactIdsQuery(r, params.length + 1);
    parts.push(`(${q.sql})`);
    params.push(...q.params);
  }
  return { sql: parts.join(' UNION '), params };
}

/** The dry run's answer (also recorded as an export's summary). */
export function planReport(p: Platform, plan: ExportPlan): Json {
  return {
    repositories: plan.repositories.map((r) => ({
      repository: repositoryHref(p.registry, r.pulpType, r.repositoryId),
      repository_version: hrefs.version(repositoryHref(p.registry, r.pulpType, r.repositoryId), r.number),
      name: r.name,
      version: r.number,
      base_version: r.baseNumber,
      content_count: r.contentCount,
      added_count: r.addedCount,
      removed_count: r.removedCount,
    })),
    artifact_count: plan.artifactCount,
    artifact_bytes: plan.artifactBytes,
    problems: plan.problems,
  };
}

export function failOnProblems(plan: ExportPlan): void {
  if (plan.problems.length) throw new TaskError(plan.problems.join(' '));
}
