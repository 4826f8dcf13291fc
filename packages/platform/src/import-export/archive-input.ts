import { TaskError } from '@pith/plugin-api';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { ArchiveError, ChunkFiles, readTar, readToc, verifyChunks, type TarEntry } from './archive';
import { resolveAllowed } from './allowed-paths';

/** The archive an import reads: its chunk files (in order) and, with a TOC, the manifest copy it holds. */
export interface ArchiveInput {
  chunks: string[];
  totalBytes: number;
  tocManifest: unknown | null;
  /**
   * Settles once the TOC's chunks are verified (at once without a TOC, or when verified up front);
   * rejects with the verification's TaskError. Nothing may be stored before it resolves.
   */
  verified: Promise<void>;
}

/** Ceiling for the manifest member: it lists repositories and members, never units. */
export const MAX_MANIFEST_BYTES = 64 << 20;

function asTaskError(e: unknown): unknown {
  return e instanceof ArchiveError ? new TaskError(e.message) : e;
}

/**
 * Resolves the import's input inside PITH_ALLOWED_IMPORT_PATHS: a single tar (`path`), or a TOC
 * whose chunks are verified (existence, size, sha256: every problem collected). Problems are
 * thrown, or collected into `problems` when given (dry runs). Verification runs before this
 * returns, unless `deferVerification`: then it runs alongside the import's single pass over the
 * archive (the tar reader treats the bytes as hostile either way), and `verified` tells when the
 * chunks may be trusted — the import stores nothing before that (see `rootCause`).
 */
export async function resolveArchiveInput(
  allowed: string[],
  input: { path: string | null; toc: string | null },
  opts: { signal: AbortSignal; /** Called with the number of chunks newly verified. */
    onChunk?: (verified: number) => void; problems?: string[]; deferVerification?: boolean },
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
      let done = 0;
      const verify = verifyChunks(toc, {
        signal: opts.signal,
        onProgress: (pr) => {
          if (pr.filesDone > done) opts.onChunk?.(pr.filesDone - done);
          done = pr.filesDone;
        },
      }).then(() => undefined);
      let verified: Promise<void>;
      if (opts.deferVerification && !opts.problems) {
        verified = verify.catch((e) => Promise.reject(asTaskError(e)));
        verified.catch(() => undefined); // observed by the import; never an unhandled rejection
      } else {
        try {
          await verify;
        } catch (e) {
          if (!opts.problems || !(e instanceof ArchiveError)) throw e;
          opts.problems.push(e.message);
        }
        verified = Promise.resolve();
      }
      return {
        chunks: toc.chunks.map((c) => c.path),
        totalBytes: (await Promise.all(toc.chunks.map((c) => stat(c.path).then((st) => st.size, () => 0)))).reduce((n, x) => n + x, 0),
        tocManifest: toc.manifest ?? null,
        verified,
      };
    }
    const s = await stat(resolved);
    if (!s.isFile()) throw new TaskError(`${given} is not a regular file.`);
    return { chunks: [resolved], totalBytes: s.size, tocManifest: null, verified: Promise.resolve() };
  } catch (e) {
    throw asTaskError(e);
  }
}

/**
 * The error an import reports for `e`, a failure during its pass over an archive whose chunks
 * are still being verified: a chunk that does not match its TOC is the root cause of whatever
 * else went wrong reading it, so its error wins. Waits for the verification (not after a cancel).
 */
export async function rootCause(input: ArchiveInput | null, e: unknown, signal: AbortSignal): Promise<unknown> {
  if (!input || signal.aborted) return e;
  return input.verified.then(() => e, (chunkError: unknown) => chunkError);
}

/**
 * Pulls tar entries one at a time (each body must be consumed before the next pull). The chunk
 * files are read with random access: artifact bodies can be handed to worker threads as file
 * ranges (`TarEntry.ranges()`), which stay readable until `close()`.
 */
export class ArchiveReader {
  private readonly it: AsyncIterator<TarEntry>;
  private readonly files: ChunkFiles;

  constructor(input: ArchiveInput, maxEntries: number) {
    this.files = new ChunkFiles(input.chunks);
    // Sizes are checked against the manifest member by member; a header claiming more bytes than
    // the archive holds then ends as "truncated", which is what it is.
    this.it = readTar(this.files, { maxEntries, maxEntryBytes: Number.MAX_SAFE_INTEGER, maxTotalBytes: Number.MAX_SAFE_INTEGER })[Symbol.asyncIterator]();
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

  /** Ends reading; the chunk files close once the tar reader has let go of them. */
  close(): Promise<void> {
    return Promise.resolve(this.it.return?.(undefined))
      .catch(() => undefined)
      .then(() => this.files.close());
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
