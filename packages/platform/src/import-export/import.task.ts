import { TaskError, type Json, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import { mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { Platform } from '../platform';
import { repositoryHref } from '../resources/resource-hrefs';
import { ARTIFACT_LIST_MEMBER, MANIFEST_MEMBER, type ExportManifest, type ManifestRepository } from './export-manifest';
import { ArchiveReader, MAX_MANIFEST_BYTES, readWhole, repositoryWorkDir, resolveArchiveInput, rootCause, stageEntry } from './archive-input';
import { importArtifacts } from './import-artifacts';
import { IMPORT_REPOSITORY_TASK, IMPORT_TASK, type ImportTaskPayload } from './import-export.dto';
import { compatibilityProblems, parseManifest } from './manifest-check';
import { versionFingerprint } from './fingerprint';
import { latestVersionNumber, validateMembers, type ImportRepositoryPayload } from './import-repository.task';
import { recordImportReport } from './import-report';

/** A lock on a repository name an import will create (two imports cannot both create it). */
export const repositoryNameResource = (name: string) => `pdrn:default:repository-name:${name}`;

interface Destination {
  source: ManifestRepository;
  name: string;
  repositoryId: string | null;
  pulpType: string;
  /** Why this repository cannot be imported (null: it can). */
  problem: string | null;
}

/**
 * Maps each exported repository to its downstream repository (repo_mapping, else the same name),
 * collecting every problem: missing repository without create_repositories, type mismatch, an
 * incremental export whose base does not match the downstream repository's latest version.
 */
async function mapRepositories(
  p: Platform, manifest: ExportManifest, mapping: Record<string, string>, create: boolean, problems: string[],
): Promise<Destination[]> {
  const out: Destination[] = [];
  const names = manifest.repositories.map((r) => mapping[r.name] ?? r.name);
  const rows = await p.db.query<{ pulp_id: string; name: string; pulp_type: string }>(
    'SELECT pulp_id, name, pulp_type FROM core_repository WHERE name = ANY($1::text[])',
    [names],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const [i, r] of manifest.repositories.entries()) {
    const name = names[i]!;
    const here = byName.get(name);
    const label = name === r.name ? `'${name}'` : `'${name}' (upstream '${r.name}')`;
    let problem: string | null = null;
    if (!here) {
      if (!create) {
        problem = `Repository ${label} does not exist here: create it or import with create_repositories=true.`;
      } else if (r.base_version !== null && r.base_fingerprint !== '0:0') {
        problem = `Repository ${label} does not exist here, and this is an incremental export from upstream version ${r.base_version}: import a full export first.`;
      }
    } else if (here.pulp_type !== r.pulp_type) {
      problem = `Repository ${label} is a ${here.pulp_type} repository here but ${r.pulp_type} in the export.`;
    } else if (r.base_version !== null) {
      const latest = await latestVersionNumber(p, here.pulp_id);
      if ((await versionFingerprint(p, here.pulp_id, latest)) !== r.base_fingerprint) {
        problem =
          `Repository ${label} does not match the base of this incremental export (upstream version ${r.base_version}): ` +
          `its latest version ${latest} has different content. Import the matching full export first.`;
      }
    }
    if (problem) problems.push(problem);
    out.push({ source: r, name, repositoryId: here?.pulp_id ?? null, pulpType: r.pulp_type, problem });
  }
  return out;
}

/**
 * `core.import` (the import's parent task): verifies the TOC and chunks, reads the manifest and
 * checks versions and repository mapping before anything is written, then makes one pass over
 * the tar: artifacts into storage (existing ones skipped, new ones verified), each repository's
 * members staged in the work area; finally one `core.import-repository` task per repository in
 * the import's task group. A dry run does the same checks and reads, writes nothing but the
 * staged members, and its children only compute what would change.
 */
export function importTask(p: Platform): TaskDefinition<ImportTaskPayload> {
  return {
    name: IMPORT_TASK,
    resources: () => ({}),
    async run(ctx: TaskContext, payload: ImportTaskPayload): Promise<Json> {
      try {
        return await runImport(p, ctx, payload);
      } finally {
        // Whatever happened, no further task joins the group: clients waiting on it may stop.
        await p.db.query('UPDATE core_taskgroup SET all_tasks_dispatched = true WHERE pulp_id = $1', [payload.task_group_id]).catch(() => undefined);
      }
    },
  };
}

async function runImport(p: Platform, ctx: TaskContext, payload: ImportTaskPayload): Promise<Json> {
  const [importer] = await p.db.query<{ pulp_id: string; name: string; repo_mapping: Record<string, string> }>(
    'SELECT pulp_id, name, repo_mapping FROM core_pulpimporter WHERE pulp_id = $1',
    [payload.importer_id],
  );
  if (!importer) throw new TaskError('The importer no longer exists.');
  const problems: string[] = [];
  const dryRun = payload.dry_run;

  const chunkReport = await ctx.progress({ message: 'Validating chunks', code: 'validate.chunks', total: null });
  // A real import verifies the chunks while it reads them once: it stores nothing before they
  // match (see importArtifacts' `ready`). A dry run verifies first, to list every problem.
  const input = await resolveArchiveInput(p.config.PITH_ALLOWED_IMPORT_PATHS, payload, {
    signal: ctx.signal, onChunk: (n) => chunkReport.increment(n), problems: dryRun ? problems : undefined, deferVerification: !dryRun,
  });
  const chunksDone = input.verified.then(() => chunkReport.done());
  chunksDone.catch(() => undefined);
  if (problems.length) return finishDryRun(p, payload, { problems, repositories: [] });

  const work = path.join(p.artifacts.mediaRoot, 'tmp', `import-${payload.import_id}`);
  let handedOver = false;
  let reader: ArchiveReader | null = null;
  try {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const archive = (reader = new ArchiveReader(input, 50_000_000));
    const manifestEntry = await archive.expect(MANIFEST_MEMBER, MAX_MANIFEST_BYTES);
    const manifestText = (await readWhole(manifestEntry)).toString('utf8');
    const manifest = parseManifest(manifestText);
    if (input.tocManifest !== null && JSON.stringify(input.tocManifest) !== JSON.stringify(manifest)) {
      throw new TaskError('The TOC describes a different export than the archive it lists.');
    }
    problems.push(...compatibilityProblems(manifest, p.componentVersions(), p.registry));
    const destinations = problems.length ? [] : await mapRepositories(p, manifest, importer.repo_mapping ?? {}, payload.create_repositories, problems);
    // Nothing has been written yet: a real import stops here; a dry run reads on to find every problem.
    if (problems.length && !dryRun) throw new TaskError(problems.join(' '));

    // Artifacts: the list first, then the blobs in its order.
    const listEntry = await archive.expect(ARTIFACT_LIST_MEMBER, manifest.artifacts.count * 200 + 1024);
    const listFile = path.join(work, ARTIFACT_LIST_MEMBER);
    if ((await stageEntry(listEntry, listFile)) !== manifest.artifacts.list_sha256) {
      throw new TaskError(`${ARTIFACT_LIST_MEMBER} does not match the manifest's digest: the archive is corrupt.`);
    }
    const artifactReport = await ctx.progress({ message: 'Importing Artifacts', code: 'import.artifacts', total: manifest.artifacts.count });
    const stats = await importArtifacts(p, listFile, () => archive.next(), {
      dryRun, signal: ctx.signal, onBlob: () => artifactReport.increment(), problems, ready: input.verified, workDir: work,
    });
    await artifactReport.done();

    // Members, in manifest order, staged per repository and checked against their digests.
    for (const r of manifest.repositories) {
      const dir = repositoryWorkDir(work, r.index);
      await mkdir(dir, { recursive: true });
      for (const [k, m] of r.members.entries()) {
        const e = await archive.expect(m.name, m.size);
        if (e.size !== m.size) throw new TaskError(`Archive member '${m.name}' is ${e.size} bytes; the manifest says ${m.size}.`);
        const sha = await stageEntry(e, path.join(dir, `${k}.jsonl`));
        if (sha !== m.sha256) {
          const msg = `Archive member '${m.name}' does not match the manifest's digest: the archive is corrupt.`;
          if (!dryRun) throw new TaskError(msg);
          problems.push(msg);
        }
      }
    }
    const extra = await archive.next();
    if (extra) throw new TaskError(`Unexpected archive member '${extra.name}' after the last listed member.`);
    await chunksDone;

    // Every row is checked against the ModelResources before any repository task may write.
    for (const d of destinations.filter((x) => !x.problem)) {
      try {
        await validateMembers(p, d.source, repositoryWorkDir(work, d.source.index), d.repositoryId);
      } catch (e) {
        if (!(e instanceof TaskError) || !dryRun) throw e;
        d.problem = e.message;
        problems.push(e.message);
      }
    }

    await recordImportReport(p, payload.import_id, {
      dry_run: dryRun, problems, artifacts: { count: manifest.artifacts.count, stored: stats.stored, skipped: stats.skipped, bytes: stats.bytes },
      export: { export_id: manifest.export_id, exporter: manifest.exporter, created: manifest.created, incremental: manifest.incremental },
    });
    const groupReport = await ctx.progress({ message: 'Importing repository versions', code: 'import.repo.versions', total: destinations.length });
    // A dry run still asks every repository that maps cleanly what would change.
    for (const d of destinations.filter((x) => !x.problem)) {
      const child: ImportRepositoryPayload = {
        import_id: payload.import_id,
        work_dir: repositoryWorkDir(work, d.source.index),
        import_root: work,
        source: d.source,
        destination_name: d.name,
        destination_id: d.repositoryId,
        create: d.repositoryId === null,
        dry_run: dryRun,
      };
      await p.tasks.dispatch({
        name: IMPORT_REPOSITORY_TASK,
        payload: child,
        exclusive: d.repositoryId ? [repositoryHref(p.registry, d.pulpType, d.repositoryId)] : [repositoryNameResource(d.name)],
        taskGroupId: payload.task_group_id,
        parentTaskId: ctx.taskId,
      });
    }
    // Members of repositories that get no task (dry-run problems) are not needed by anyone.
    for (const d of destinations.filter((x) => x.problem)) await rm(repositoryWorkDir(work, d.source.index), { recursive: true, force: true });
    handedOver = destinations.some((x) => !x.problem);
    await groupReport.done();
    return { dry_run: dryRun, problems, repositories: destinations.length, artifacts: { ...stats } } as unknown as Json;
  } catch (e) {
    throw await rootCause(input, e, ctx.signal);
  } finally {
    await reader?.close();
    // The children own the staged members from here on; otherwise nothing may stay behind.
    if (!handedOver) await rm(work, { recursive: true, force: true }).catch(() => undefined);
    else await rm(path.join(work, ARTIFACT_LIST_MEMBER), { force: true }).catch(() => undefined);
  }
}

async function finishDryRun(p: Platform, payload: ImportTaskPayload, report: { problems: string[]; repositories: unknown[] }): Promise<Json> {
  if (!payload.dry_run) throw new TaskError(report.problems.join(' '));
  await recordImportReport(p, payload.import_id, { dry_run: true, ...report });
  return { dry_run: true, ...report } as unknown as Json;
}
