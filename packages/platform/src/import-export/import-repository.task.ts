import { TaskError, type Json, type ModelResource, type RepositoryVersionBuilder, type Row, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import { createReadStream } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { Platform } from '../platform';
import { hrefs } from '../http/hrefs';
import { MasterDetailService } from '../resources/master-detail.service';
import { KINDS } from '../resources/resource-kinds';
import { repositoryHref } from '../resources/resource-hrefs';
import { uuid7 } from '../util/uuid7';
import { IN_VERSION } from '../repositories/version.service';
import type { ManifestMember, ManifestRepository } from './export-manifest';
import { versionFingerprint } from './fingerprint';
import { IMPORT_REPOSITORY_TASK } from './import-export.dto';
import { recordRepositoryReport } from './import-report';
import { importScope } from './resource-scopes';

export interface ImportRepositoryPayload {
  import_id: string;
  /** This repository's staged members (`<k>.jsonl` for the manifest's k-th member). */
  work_dir: string;
  /** The import's work area (removed by the last child to finish). */
  import_root: string;
  source: ManifestRepository;
  destination_name: string;
  destination_id: string | null;
  create: boolean;
  dry_run: boolean;
}

/** Rows handed to a resource per call. */
const IMPORT_BATCH = 1000;
/** Content batches being saved at once (see importMembers). */
const PIPELINE = 2;
/** Longest JSON line accepted from an archive member (one unit's row). */
const MAX_LINE = 16 << 20;

export async function latestVersionNumber(p: Platform, repositoryId: string): Promise<number> {
  const [r] = await p.db.query<{ n: number | null }>(
    'SELECT max(number) AS n FROM core_repositoryversion WHERE repository_id = $1 AND complete',
    [repositoryId],
  );
  return r?.n ?? 0;
}

/** True when the repository's latest complete version holds no content. */
async function isEmptyLatest(p: Platform, repositoryId: string): Promise<boolean> {
  const latest = await latestVersionNumber(p, repositoryId);
  const [r] = await p.db.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM core_repositorycontent rc WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2::int')}) AS any`,
    [repositoryId, latest],
  );
  return !r!.any;
}

/** Streams a staged member's rows in batches; a line that is not a JSON object names the member and line. */
async function* memberRows(file: string, member: ManifestMember): AsyncGenerator<Row[]> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let batch: Row[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.length > MAX_LINE) throw new TaskError(`${member.name} line ${n} is longer than ${MAX_LINE} characters.`);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new TaskError(`${member.name} line ${n} is not valid JSON.`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TaskError(`${member.name} line ${n} is not a JSON object.`);
    batch.push(v as Row);
    if (batch.length >= IMPORT_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (n !== member.rows) throw new TaskError(`${member.name} has ${n} rows; the manifest says ${member.rows}.`);
  if (batch.length) yield batch;
}

async function createRepository(p: Platform, pulpType: string, name: string, description: string | null): Promise<string> {
  const reg = p.registry.repositoryTypes.get(pulpType);
  if (!reg) throw new TaskError(`Repository type ${pulpType} is not installed here.`);
  const svc = new MasterDetailService(p);
  const id = uuid7();
  await svc.detailTable(reg);
  await p.db.transaction(async (tx) => {
    await svc.insert(tx, KINDS.repositories, reg, id, { name, description }, new Map());
    await tx.query('INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, 0, true)', [uuid7(), id]);
  });
  return id;
}

interface Outcome {
  added: number;
  removed: number;
}

/**
 * Imports every member of one repository into a new version built by `b`, resources in the
 * manifest's (upstream IMPORT_ORDER) order: content rows become the version's content — all of it
 * for a full export (set semantics via markSeen/removeUnseen), the added and removed units for an
 * incremental one. Ends by checking the version's fingerprint equals upstream's.
 */
async function importMembers(
  p: Platform, ctx: TaskContext, pl: ImportRepositoryPayload, repositoryId: string, created: boolean,
  resources: Map<string, ModelResource>, b: RepositoryVersionBuilder,
): Promise<Outcome> {
  const out: Outcome = { added: 0, removed: 0 };
  const report = await ctx.progress({ message: 'Importing content', code: 'import.repo.version.content', total: pl.source.content_count });
  const full = pl.source.base_version === null;
  // Set semantics only matter when the version starts with content: into an empty repository
  // (the usual first import) nothing can be unseen, so no unit needs marking.
  const markSeen = full && !(await isEmptyLatest(p, repositoryId));
  for (const [k, m] of pl.source.members.entries()) {
    const resource = resources.get(m.resource)!;
    if (resource.kind === 'repository' && !created) continue; // an existing repository keeps its settings
    const scope = importScope(p, { repositoryId, repositoryType: pl.source.pulp_type, set: m.set, dryRun: false, where: m.name });
    const save = async (rows: Row[]): Promise<void> => {
      const ids = await resource.importRows(scope, rows);
      if (resource.kind !== 'content') return;
      if (!Array.isArray(ids) || ids.length !== rows.length) throw new TaskError(`${m.resource} returned no content ids for ${m.name}.`);
      const found = ids.filter((x): x is string => !!x);
      if (m.set === 'removed') {
        await b.remove(found);
        out.removed += found.length;
        return;
      }
      if (found.length !== ids.length) throw new TaskError(`${m.resource} could not save every unit of ${m.name}.`);
      out.added += await b.add(found);
      if (markSeen) await b.markSeen(found);
      report.increment(found.length);
    };
    // Content batches are saved PIPELINE at a time (each on its own connection): saving is
    // database-bound (foreign-key checks and index inserts, ~50 µs a unit on one core), so a
    // second batch in flight uses the other core. Order within a member does not matter (set
    // semantics); members stay in order (all of one is done before the next starts).
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    try {
      for await (const rows of memberRows(path.join(pl.work_dir, `${k}.jsonl`), m)) {
        ctx.throwIfCanceled();
        if (failure) throw failure;
        const step = save(rows).catch((e) => {
          failure ??= e;
        });
        inFlight.add(step);
        void step.finally(() => inFlight.delete(step));
        const limit = resource.kind === 'content' ? PIPELINE : 1;
        while (inFlight.size >= limit) await Promise.race(inFlight);
      }
    } finally {
      // Nothing of this import may still be writing once it ends, also when it fails.
      await Promise.all(inFlight);
    }
    if (failure) throw failure;
  }
  if (markSeen) out.removed += await b.removeUnseen();
  const fp = await versionFingerprint(p, repositoryId, b.number);
  if (fp !== pl.source.fingerprint) {
    throw new TaskError(`After import, repository '${pl.destination_name}' does not hold the content of upstream version ${pl.source.version}; nothing was changed.`);
  }
  await report.done();
  return out;
}

/** The local ModelResources for an exported repository, refusing members of unknown resources. */
export function resourcesFor(p: Platform, source: ManifestRepository): Map<string, ModelResource> {
  const exportable = p.registry.exportableFor(source.pulp_type);
  if (!exportable) throw new TaskError(`Repository type ${source.pulp_type} cannot be imported here.`);
  const resources = new Map(exportable.def.IMPORT_ORDER.map((r) => [r.name, r]));
  const unknown = source.members.filter((m) => !resources.has(m.resource));
  if (unknown.length) throw new TaskError(`The export holds ${unknown.map((m) => m.resource).join(', ')}, unknown to the ${exportable.plugin.id} plugin here.`);
  return resources;
}

/**
 * Runs every staged row of a repository through its resource in dry-run mode: a row that does not
 * match the ModelResources fails here, in the parent task, before any repository is written.
 */
export async function validateMembers(p: Platform, source: ManifestRepository, workDir: string, repositoryId: string | null): Promise<void> {
  const resources = resourcesFor(p, source);
  for (const [k, m] of source.members.entries()) {
    const scope = importScope(p, { repositoryId: repositoryId ?? '', repositoryType: source.pulp_type, set: m.set, dryRun: true, where: m.name });
    for await (const rows of memberRows(path.join(workDir, `${k}.jsonl`), m)) await resources.get(m.resource)!.importRows(scope, rows);
  }
}

/** What a dry run answers: how the downstream repository's content would change. */
async function dryRunCounts(p: Platform, pl: ImportRepositoryPayload, resources: Map<string, ModelResource>): Promise<Outcome> {
  if (!pl.destination_id) return { added: pl.source.base_version === null ? pl.source.content_count : pl.source.added_count ?? 0, removed: 0 };
  const repositoryId = pl.destination_id;
  const latest = await latestVersionNumber(p, repositoryId);
  const inLatest = async (ids: string[]) => {
    if (!ids.length) return 0;
    const [r] = await p.db.query<{ n: string }>(
      `SELECT count(DISTINCT rc.content_id)::text AS n FROM core_repositorycontent rc
        WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2::int')} AND rc.content_id = ANY($3::uuid[])`,
      [repositoryId, latest, ids],
    );
    return Number(r!.n);
  };
  const out: Outcome = { added: 0, removed: 0 };
  let kept = 0;
  for (const [k, m] of pl.source.members.entries()) {
    const resource = resources.get(m.resource)!;
    if (resource.kind !== 'content') continue;
    const scope = importScope(p, { repositoryId, repositoryType: pl.source.pulp_type, set: m.set, dryRun: true, where: m.name });
    for await (const rows of memberRows(path.join(pl.work_dir, `${k}.jsonl`), m)) {
      const ids = ((await resource.importRows(scope, rows)) ?? []) as Array<string | null>;
      const found = ids.filter((x): x is string => !!x);
      const present = await inLatest(found);
      if (m.set === 'removed') out.removed += present;
      else {
        out.added += rows.length - present;
        kept += present;
      }
    }
  }
  if (pl.source.base_version === null) {
    const [r] = await p.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM core_repositorycontent rc WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2::int')}`,
      [repositoryId, latest],
    );
    out.removed = Number(r!.n) - kept;
  }
  return out;
}

/**
 * `core.import-repository`: one repository of an import (a child of `core.import`, in its task
 * group). Creates the downstream repository when asked (removed again if the import fails),
 * re-checks an incremental base under the repository lock, then makes at most one new version.
 */
export function importRepositoryTask(p: Platform): TaskDefinition<ImportRepositoryPayload> {
  return {
    name: IMPORT_REPOSITORY_TASK,
    resources: () => ({}),
    async run(ctx: TaskContext, pl: ImportRepositoryPayload): Promise<Json> {
      const resources = resourcesFor(p, pl.source);
      const upstream = { name: pl.source.name, version: pl.source.version, base_version: pl.source.base_version };
      let createdId: string | null = null;
      try {
        if (pl.dry_run) {
          const counts = await dryRunCounts(p, pl, resources);
          const outcome = { action: pl.create ? 'would create' : 'would update', upstream, ...counts };
          await recordRepositoryReport(p, pl.import_id, pl.destination_name, outcome);
          return outcome as unknown as Json;
        }
        let repositoryId = pl.destination_id;
        if (pl.create) {
          const [taken] = await p.db.query('SELECT 1 FROM core_repository WHERE name = $1', [pl.destination_name]);
          if (taken) throw new TaskError(`Repository '${pl.destination_name}' was created by someone else meanwhile; import again to update it.`);
          createdId = repositoryId = await createRepository(p, pl.source.pulp_type, pl.destination_name, pl.source.description);
        } else {
          const [still] = await p.db.query('SELECT 1 FROM core_repository WHERE pulp_id = $1', [repositoryId]);
          if (!still) throw new TaskError(`Repository '${pl.destination_name}' was deleted before its import ran.`);
          if (pl.source.base_version !== null) {
            const latest = await latestVersionNumber(p, repositoryId!);
            if ((await versionFingerprint(p, repositoryId!, latest)) !== pl.source.base_fingerprint) {
              throw new TaskError(`Repository '${pl.destination_name}' changed and no longer matches the base of this incremental export (upstream version ${pl.source.base_version}).`);
            }
          }
        }
        let outcome: Outcome = { added: 0, removed: 0 };
        const version = await p.versions.create(repositoryId!, async (b) => {
          outcome = await importMembers(p, ctx, pl, repositoryId!, !!createdId, resources, b);
        });
        const repoHref = repositoryHref(p.registry, pl.source.pulp_type, repositoryId!);
        if (createdId) await ctx.addCreatedResource(repoHref);
        if (version) await ctx.addCreatedResource(version.href);
        const result = {
          action: createdId ? 'created' : version ? 'updated' : 'unchanged',
          repository: repoHref,
          repository_version: version ? version.href : hrefs.version(repoHref, await latestVersionNumber(p, repositoryId!)),
          upstream,
          ...outcome,
        };
        await recordRepositoryReport(p, pl.import_id, pl.destination_name, result);
        return result as unknown as Json;
      } catch (e) {
        if (createdId) {
          // No half-imported repository: one this task created goes again.
          const reg = p.registry.repositoryTypes.get(pl.source.pulp_type);
          await new MasterDetailService(p).delete(KINDS.repositories, reg, createdId).catch(() => undefined);
        }
        await recordRepositoryReport(p, pl.import_id, pl.destination_name, { action: 'failed', upstream, error: (e as Error).message }).catch(() => undefined);
        throw e;
      } finally {
        await rm(pl.work_dir, { recursive: true, force: true }).catch(() => undefined);
        await rmdir(pl.import_root).catch(() => undefined); // the last child removes the (then empty) work area
      }
    },
  };
}
