import { TaskError } from '@pith/plugin-api';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { ArchiveError, openChunks, readTar, readToc, verifyChunks, type TarEntry } from './archive';
import { resolveAllowed } from './allowed-paths';

/** The archive an import reads: its chunk files (in order) and, with a TOC, the manifest copy it holds. */
export interface ArchiveInput {
  chunks: string[];
  totalBytes: number;
  tocManifest: unknown | null;
}

/** Ceiling for the manifest member: it lists repositories and members, never units. */
export const MAX_MANIFEST_BYTES = 64 << 20;

function asTaskError(e: unknown): unknown {
  return e instanceof ArchiveError ? new TaskError(e.message) : e;
}

/**
 * Resolves the import's input inside PITH_ALLOWED_IMPORT_PATHS: a single tar (`path`), or a TOC
 * whose chunks are verified (existence, size, sha256: every problem collected) before anything
 * else reads them. Problems are thrown, or collected into `problems` when given (dry runs).
 */
export async function resolveArchiveInput(
  allowed: string[],
  input: { path: string | null; toc: string | null },
  opts: { signal: AbortSignal; /** Called with the number of chunks newly verified. */
    onChunk?: (verified: number) => void; problems?: string[] },
): Promise<ArchiveInput> {
  const given = input.toc ?? input.path;
  if (!given) throw new TaskError('Either path or toc is required.');
  const resolved = await resolveAllowed(given, allowed);
  if (!resolved) throw new TaskError(`${given} is not inside PITH_ALLOWED_IMPORT_PATHS.`);
  try {
    if (input.toc) {
      const toc = await readToc(resolved);
      if (toc.format !== 'pith') {
        throw new TaskError('This TOC belongs to a Pulp 3 export; Pith imports archives written by Pith exporters (format pith-export).');
      }
      try {
        let done = 0;
        await verifyChunks(toc, {
          signal: opts.signal,
          onProgress: (pr) => {
            if (pr.filesDone > done) opts.onChunk?.(pr.filesDone - done);
            done = pr.filesDone;
          },
        });
      } catch (e) {
        if (!opts.problems || !(e instanceof ArchiveError)) throw e;
        opts.problems.push(e.message);
      }
      return {
        chunks: toc.chunks.map((c) => c.path),
        totalBytes: (await Promise.all(toc.chunks.map((c) => stat(c.path).then((st) => st.size, () => 0)))).reduce((n, x) => n + x, 0),
        tocManifest: toc.manifest ?? null,
      };
    }
    const s = await stat(resolved);
    if (!s.isFile()) throw new TaskError(`${given} is not a regular file.`);
    return { chunks: [resolved], totalBytes: s.size, tocManifest: null };
  } catch (e) {
    throw asTaskError(e);
  }
}

/** Pulls tar entries one at a time (each body must be consumed before the next pull). */
export class ArchiveReader {
  private readonly it: AsyncIterator<TarEntry>;
  private readonly src: Readable;

  constructor(input: ArchiveInput, maxEntries: number) {
    this.src = openChunks(input.chunks);
    // Sizes are checked against the manifest member by member; a header claiming more bytes than
    // the archive holds then ends as "truncated", which is what it is.
    this.it = readTar(this.src, { maxEntries, maxEntryBytes: Number.MAX_SAFE_INTEGER, maxTotalBytes: Number.MAX_SAFE_INTEGER })[Symbol.asyncIterator]();
  }

  async next(): Promise<TarEntry | null> {
    try {
      const r = await this.it.next();
      return r.done ? null : r.value;
    } catch (e) {
      throw asTaskError(e);
    }
  }

  /** Next entry, which must be `name` (at most `maxBytes`). */
  async expect(name: string, maxBytes: number): Promise<TarEntry> {
    const e = await this.next();
    if (!e) throw new TaskError(`The archive ends where '${name}' was expected.`);
    if (e.name !== name) throw new TaskError(`Archive member '${e.name}' found where '${name}' was expected.`);
    if (e.size > maxBytes) throw new TaskError(`Archive member '${name}' is ${e.size} bytes; at most ${maxBytes} are expected.`);
    return e;
  }

  close(): void {
    void this.it.return?.(undefined).catch(() => undefined);
    this.src.destroy();
  }
}

/** Reads an entry body whole (small members only). */
export async function readWhole(e: TarEntry): Promise<Buffer> {
  try {
    return await e.buffer(MAX_MANIFEST_BYTES);
  } catch (err) {
    throw asTaskError(err);
  }
}

/**
 * Copies an entry body to `file` with back-pressure, passing every chunk to `onChunk` (hashing)
 * on the way. A failed copy leaves no file behind.
 */
export async function copyBody(e: Pick<TarEntry, 'body'>, file: string, onChunk: (c: Buffer) => void): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const c of e.body) {
      onChunk(c as Buffer);
      if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    out.destroy();
    await unlink(file).catch(() => undefined);
    throw asTaskError(err);
  }
}

/** Copies an entry body to `file`, returning its sha256. */
export async function stageEntry(e: TarEntry, file: string): Promise<string> {
  const hash = createHash('sha256');
  await copyBody(e, file, (c) => hash.update(c));
  return hash.digest('hex');
}

/** Directory for one repository's staged members inside the import's work area. */
export function repositoryWorkDir(work: string, index: number): string {
  return path.join(work, `repository-${index}`);
}
