import { TaskError, type Json, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Platform } from '../platform';
import { streamQuery } from '../db/query-stream';
import { artifactStorageName } from '../storage/hashing';
import { uuid7 } from '../util/uuid7';
import { ChunkedFileWriter, TarWriter, writeToc } from './archive';
import { resolveAllowed } from './allowed-paths';
import { EXPORT_TASK, type ExportTaskPayload } from './import-export.dto';
import {
  ARTIFACT_LIST_MEMBER, EXPORT_FORMAT, EXPORT_FORMAT_VERSION, MANIFEST_MEMBER, type ExportManifest, type ManifestRepository,
} from './export-manifest';
import { readAhead, stageRepositoryMembers, type StagedMember } from './export-members';
import { JsonLinesFile, readJsonLines } from './json-lines-file';
import { artifactUnion, failOnProblems, planExport, planReport, type ExportPlan } from './export-plan';
import { versionFingerprint } from './fingerprint';
import { exportHref, exporterHref } from './import-export-hrefs';

interface ExporterRow {
  pulp_id: string;
  name: string;
  path: string;
  last_export_id: string | null;
}

/** `export-<id>-<UTC YYYYMMDD_HHMM>` as Pulp names its files. */
function baseName(exportId: string, at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `export-${exportId}-${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}`;
}

/** Base versions by repository id: explicit start versions, or those of the exporter's last export. */
async function resolveBases(p: Platform, exporter: ExporterRow, payload: ExportTaskPayload): Promise<Map<string, string>> {
  const bases = new Map<string, string>();
  if (payload.start_versions) {
    for (const s of payload.start_versions) bases.set(s.repository_id, s.version_id);
  } else if (payload.from_last_export) {
    if (!exporter.last_export_id) throw new TaskError('An incremental export needs start_versions or a previous export of this exporter.');
    const [last] = await p.db.query<{ exported_versions: Array<{ repository_id: string; version_id: string }> }>(
      'SELECT exported_versions FROM core_pulpexport WHERE pulp_id = $1',
      [exporter.last_export_id],
    );
    // A repository added to the exporter since its last export has no base: it goes in full.
    for (const v of last?.exported_versions ?? []) bases.set(v.repository_id, v.version_id);
  }
  return bases;
}

/** Like Promise.all, but waits for every promise to settle; the first failure aborts `stop`. */
async function allOrFirstError<T extends readonly unknown[]>(stop: AbortController, promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  let first: { e: unknown } | null = null;
  const settled = await Promise.all(promises.map((pr) => pr.catch((e: unknown) => {
    first ??= { e };
    stop.abort(e);
    return undefined;
  })));
  if (first) throw (first as { e: unknown }).e;
  return settled as unknown as T;
}

/**
 * Writes the artifact list (`{"sha256","size"}` per line, ordered by sha256: the order of the
 * blobs) from one cursor over the union of the repositories' artifacts, counting as it goes.
 */
async function writeArtifactList(
  p: Platform,
  plan: ExportPlan,
  file: string,
  signal: AbortSignal,
): Promise<{ count: number; bytes: number; sha256: string; size: number }> {
  const union = artifactUnion(plan.repositories);
  const list = new JsonLinesFile(file);
  let count = 0;
  let bytes = 0;
  try {
    if (union.sql) {
      const sql = `SELECT a.sha256, a.size FROM core_artifact a WHERE a.pulp_id IN (${union.sql}) ORDER BY a.sha256`;
      for await (const rows of readAhead(streamQuery<{ sha256: string; size: string }>(p.dataSource, sql, union.params, 5000))) {
        if (signal.aborted) throw signal.reason;
        const out = rows.map((r) => ({ sha256: r.sha256, size: Number(r.size) }));
        await list.write(out);
        for (const r of out) bytes += r.size;
        count += rows.length;
      }
    }
  } catch (e) {
    list.destroy();
    throw e;
  }
  return { count, bytes, sha256: await list.close(), size: list.size };
}

/**
 * `core.export`: writes the exporter's repository versions as one tar (or chunks) plus a TOC, or,
 * as a dry run, only answers what it would write. Layout: the manifest, the artifact list, every
 * artifact once, then per repository the JSON-lines members of its plugin's ModelResources. A
 * failure removes every file written and leaves `last_export` alone.
 */
export function exportTask(p: Platform): TaskDefinition<ExportTaskPayload> {
  return {
    name: EXPORT_TASK,
    resources: () => ({}),
    async run(ctx: TaskContext, payload: ExportTaskPayload): Promise<Json> {
      const [exporter] = await p.db.query<ExporterRow>('SELECT pulp_id, name, path, last_export_id FROM core_pulpexporter WHERE pulp_id = $1', [payload.exporter_id]);
      if (!exporter) throw new TaskError('The exporter no longer exists.');
      const bases = await resolveBases(p, exporter, payload);
      // A real run counts the artifacts while listing them (one pass over the union, not two).
      const plan = await planExport(p, payload.versions, bases, { countArtifacts: !!payload.dry_run });
      if (payload.dry_run) return { dry_run: true, ...(planReport(p, plan) as object) } as Json;
      failOnProblems(plan);
      const dir = await resolveAllowed(exporter.path, p.config.PITH_ALLOWED_EXPORT_PATHS);
      if (!dir) throw new TaskError(`The exporter's path ${exporter.path} is not inside PITH_ALLOWED_EXPORT_PATHS.`);
      await mkdir(dir, { recursive: true, mode: 0o775 });
      if (!(await stat(dir)).isDirectory()) throw new TaskError(`The exporter's path ${dir} is not a directory.`);
      return writeExport(p, ctx, exporter, payload, plan, dir);
    },
  };
}

async function writeExport(p: Platform, ctx: TaskContext, exporter: ExporterRow, payload: ExportTaskPayload, plan: ExportPlan, dir: string): Promise<Json> {
  const exportId = uuid7();
  const created = new Date();
  await p.db.query(
    `INSERT INTO core_pulpexport (pulp_id, exporter_id, task_id, params) VALUES ($1, $2, $3, $4)`,
    [exportId, exporter.pulp_id, ctx.taskId, JSON.stringify(payload.params ?? {})],
  );
  const work = await mkdtemp(path.join(p.artifacts.mediaRoot, 'tmp', 'export-'));
  const base = baseName(exportId, created);
  const writer = new ChunkedFileWriter({ dir, base, chunkSize: payload.chunk_size ?? null });
  let tocPath: string | null = null;
  try {
    // 1. Three independent database passes run concurrently (each mostly waits on PostgreSQL):
    //    staging the JSON-lines members (their digests go into the manifest, which comes first),
    //    the fingerprints, and the artifact list (the importer reads it before the blobs, to skip
    //    what it has in batches). Repositories go one after another: each pass holds at most one
    //    cursor, so the connection pool is never exhausted by a large exporter.
    const contentReport = await ctx.progress({ message: 'Exporting content', code: 'export.repo.version.content', total: null });
    const listFile = path.join(work, ARTIFACT_LIST_MEMBER);
    // The first failure stops the other passes; all are settled before the work folder goes.
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const [stagedByRepo, fingerprints, listing] = await allOrFirstError(stop, [
      (async () => {
        const out: StagedMember[][] = [];
        for (const [index, repo] of plan.repositories.entries()) {
          out.push(await stageRepositoryMembers(p, repo, index, work, signal, (n) => contentReport.increment(n)));
        }
        await contentReport.done();
        return out;
      })(),
      (async () => {
        const out: Array<{ base: string | null; target: string }> = [];
        for (const repo of plan.repositories) {
          signal.throwIfAborted();
          const [base, target] = await Promise.all([
            repo.baseNumber === null ? null : versionFingerprint(p, repo.repositoryId, repo.baseNumber),
            versionFingerprint(p, repo.repositoryId, repo.number),
          ]);
          out.push({ base, target });
        }
        return out;
      })(),
      writeArtifactList(p, plan, listFile, signal),
    ] as const);
    const staged = stagedByRepo.flat();
    const repositories: ManifestRepository[] = plan.repositories.map((repo, index) => ({
      index,
      name: repo.name,
      pulp_type: repo.pulpType,
      plugin: p.registry.exportableFor(repo.pulpType)!.plugin.id,
      description: repo.description,
      version: repo.number,
      base_version: repo.baseNumber,
      base_fingerprint: fingerprints[index]!.base,
      fingerprint: fingerprints[index]!.target,
      content_count: repo.contentCount,
      added_count: repo.addedCount,
      removed_count: repo.removedCount,
      members: stagedByRepo[index]!.map(({ path: _p, ...m }) => m),
    }));
    const { count: artifactCount, bytes: artifactBytes, sha256: listSha256, size: listSize } = listing;
    plan.artifactCount = artifactCount;
    plan.artifactBytes = artifactBytes;

    const installed = p.componentVersions();
    const components: Record<string, string> = { core: installed.core! };
    for (const r of repositories) components[r.plugin] = installed[r.plugin]!;
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      format_version: EXPORT_FORMAT_VERSION,
      created: created.toISOString(),
      export_id: exportId,
      exporter: exporter.name,
      components,
      incremental: plan.repositories.some((r) => r.baseNumber !== null),
      artifacts: { count: artifactCount, bytes: artifactBytes, list_sha256: listSha256 },
      repositories,
    };

    // 3. The tar: manifest, artifact list, blobs (same order as the list), members.
    const tar = new TarWriter(writer, { signal: ctx.signal, buffers: writer.buffers });
    await tar.addBuffer(MANIFEST_MEMBER, Buffer.from(JSON.stringify(manifest, null, 1)));
    await tar.addFile(ARTIFACT_LIST_MEMBER, listFile, listSize);
    const artifactReport = await ctx.progress({ message: 'Exporting Artifacts', code: 'export.artifacts', total: artifactCount });
    if (artifactCount) {
      // The blobs in list order, read back from the list just written (in the page cache) rather
      // than from a second cursor over the union.
      // Storage paths by concatenation: artifactStorageName() has checked the digest's form.
      const root = p.artifacts.localPath('artifact').slice(0, -'artifact'.length);
      async function* blobs() {
        for await (const rows of readJsonLines<{ sha256: string; size: number }>(listFile)) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          yield rows.map((r) => {
            const name = artifactStorageName(r.sha256);
            return { name, path: root + name, size: r.size };
          });
          artifactReport.increment(rows.length);
        }
      }
      await tar.addFileBatches(blobs());
    }
    await artifactReport.done();
    for (const m of staged) await tar.addFile(m.name, m.path, m.size);
    await tar.finish();
    const files = await writer.finish();

    const toc = await writeToc(dir, base, {
      chunkSize: payload.chunk_size ?? null,
      meta: payload.meta ?? {},
      files,
      manifest,
    });
    tocPath = toc.path;
    const outputFileInfo: Record<string, string> = {};
    for (const f of files) outputFileInfo[f.path] = f.sha256;
    outputFileInfo[toc.path] = toc.sha256;
    const exportedVersions = plan.repositories.map((r) => ({
      repository_id: r.repositoryId, version_id: r.versionId, number: r.number, base_number: r.baseNumber,
    }));
    const summary = { ...(planReport(p, plan) as object), files: files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })) };
    await p.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE core_pulpexport SET output_file_info = $2, toc_info = $3, exported_versions = $4, summary = $5, pulp_last_updated = now() WHERE pulp_id = $1`,
        [exportId, JSON.stringify(outputFileInfo), JSON.stringify({ file: toc.path, sha256: toc.sha256, meta: payload.meta ?? {} }),
          JSON.stringify(exportedVersions), JSON.stringify(summary)],
      );
      await tx.query('UPDATE core_pulpexporter SET last_export_id = $2, pulp_last_updated = now() WHERE pulp_id = $1', [exporter.pulp_id, exportId]);
    });
    await ctx.addCreatedResource(exportHref(exporter.pulp_id, exportId));
    return { export: exportHref(exporter.pulp_id, exportId), exporter: exporterHref(exporter.pulp_id), toc: toc.path, ...summary } as Json;
  } catch (e) {
    await writer.abort().catch(() => undefined);
    if (tocPath) await rm(tocPath, { force: true }).catch(() => undefined);
    await p.db.query('DELETE FROM core_pulpexport WHERE pulp_id = $1', [exportId]).catch(() => undefined);
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

