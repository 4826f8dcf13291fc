import { TaskError, type ExportSet, type ModelResource } from '@pith/plugin-api';
import * as path from 'node:path';
import type { Platform } from '../platform';
import { memberName, type ManifestMember } from './export-manifest';
import type { PlannedRepository } from './export-plan';
import { exportScope } from './resource-scopes';
import { JsonLinesFile } from './json-lines-file';

/** A JSON-lines member staged on disk before the tar is written (its digest goes in the manifest first). */
export interface StagedMember extends ManifestMember {
  path: string;
}

/** The sets a repository's resources are written for: all units, or what changed since the base. */
export function setsFor(repo: PlannedRepository, resource: ModelResource): ExportSet[] {
  if (resource.kind === 'repository') return ['present'];
  return repo.baseNumber === null ? ['present'] : ['added', 'removed'];
}

/**
 * Runs every ModelResource of a repository's plugin in IMPORT_ORDER for each set and stages the
 * rows as JSON-lines files in `workDir` (streamed from database cursors: flat memory). A resource
 * with no rows still gets its (empty) member, so the importer can tell "nothing" from "missing".
 */
export async function stageRepositoryMembers(
  p: Platform,
  repo: PlannedRepository,
  index: number,
  workDir: string,
  signal: AbortSignal,
  onRows: (n: number) => void,
): Promise<StagedMember[]> {
  const exportable = p.registry.exportableFor(repo.pulpType);
  if (!exportable) throw new TaskError(`Repository '${repo.name}' (${repo.pulpType}) cannot be exported: its plugin declares no ModelResources.`);
  const staged: StagedMember[] = [];
  for (const resource of exportable.def.IMPORT_ORDER) {
    for (const set of setsFor(repo, resource)) {
      const name = memberName(index, resource.name, set);
      const file = new JsonLinesFile(path.join(workDir, `${index}-${staged.length}.jsonl`));
      try {
        for await (const rows of readAhead(resource.exportRows(exportScope(p, repo, repo.pulpType, set)))) {
          if (signal.aborted) throw signal.reason;
          await file.write(rows);
          onRows(rows.length);
        }
      } catch (e) {
        file.destroy();
        throw e;
      }
      const sha256 = await file.close();
      staged.push({ name, resource: resource.name, set, rows: file.rows, size: file.size, sha256, path: file.file });
    }
  }
  return staged;
}

/**
 * Iterates `source` one batch ahead: the next batch is being fetched (PostgreSQL producing it,
 * the driver parsing it) while the caller serialises and writes the current one, instead of the
 * two taking turns. Stopping early (break, error) closes the source once its pending batch is in.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  let done = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      yield r.value;
    }
  } finally {
    if (!done) {
      await next.catch(() => undefined);
      await it.return?.();
    }
  }
}
