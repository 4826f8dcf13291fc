import { TaskError } from '@pith/plugin-api';
import { createReadStream } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Platform } from '../platform';
import { MultiHasher, artifactStorageName } from '../storage/hashing';
import { ArtifactStoreBatcher } from '../sync/artifact-store-batcher';
import type { FileRange } from '../sync/receive-pool';
import { isPlainObject } from './row-validation';
import { BlobWriter } from './blob-writer';

const SHA256 = /^[0-9a-f]{64}$/;
/** List lines looked up per query (the existing ones are skipped without a write). */
const LOOKUP_BATCH = 1000;

/** One tar entry as the archive reader hands it over. */
export interface BlobEntry {
  name: string;
  size: number;
  body: Readable;
  skip(): Promise<void>;
  buffer(maxBytes?: number): Promise<Buffer>;
  ranges(): Promise<FileRange[]>;
}

export interface ArtifactImportStats {
  stored: number;
  skipped: number;
  bytes: number;
}

interface Listed {
  sha256: string;
  size: number;
}

/** Reads the staged artifact list (`{"sha256","size"}` lines) in batches, checking every line. */
async function* listBatches(file: string): AsyncGenerator<Listed[]> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let batch: Listed[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new TaskError(`artifacts.jsonl line ${n} is not JSON.`);
    }
    if (!isPlainObject(v) || typeof v.sha256 !== 'string' || !SHA256.test(v.sha256) || !Number.isSafeInteger(v.size) || (v.size as number) < 0) {
      throw new TaskError(`artifacts.jsonl line ${n} must be {"sha256": <64 hex>, "size": <bytes>}.`);
    }
    batch.push({ sha256: v.sha256, size: v.size as number });
    if (batch.length >= LOOKUP_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/**
 * The list's batches, each with the set of its digests already stored here. The lookup of the
 * next batch runs while the current one is imported (one query per batch, off the critical path).
 */
async function* withStored(p: Platform, file: string): AsyncGenerator<{ batch: Listed[]; have: Set<string> }> {
  const lookup = (batch: Listed[]) =>
    p.db
      .query<{ sha256: string }>('SELECT sha256 FROM core_artifact WHERE sha256 = ANY($1::text[])', [batch.map((b) => b.sha256)])
      .then((rows) => new Set(rows.map((r) => r.sha256)));
  const batches = listBatches(file);
  try {
    let cur = await batches.next();
    if (cur.done) return;
    let have = lookup(cur.value);
    have.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    for (;;) {
      const nextBatch = await batches.next();
      const nextHave = nextBatch.done ? null : lookup(nextBatch.value);
      nextHave?.catch(() => undefined);
      yield { batch: cur.value, have: await have };
      if (nextBatch.done) return;
      cur = nextBatch;
      have = nextHave!;
    }
  } finally {
    await batches.return(undefined); // closes the list file when the import stops early
  }
}

/** Checks that the next archive entry is the listed artifact. */
function checkEntry(entry: BlobEntry | null, want: Listed): BlobEntry {
  const expectedName = artifactStorageName(want.sha256);
  if (!entry) throw new TaskError(`The archive ends before artifact ${want.sha256} listed in artifacts.jsonl.`);
  if (entry.name !== expectedName) throw new TaskError(`Archive member '${entry.name}' found where artifact ${expectedName} was listed.`);
  if (entry.size !== want.size) throw new TaskError(`Artifact ${want.sha256} is ${entry.size} bytes in the archive but listed as ${want.size}.`);
  return entry;
}

const corrupt = (want: Listed, sha256: string | undefined) => `Artifact ${want.sha256} in the archive has sha256 ${sha256}: the archive is corrupt.`;

/**
 * Imports the artifact blobs that follow the artifact list in the archive, in the list's order:
 * each entry must be the next listed digest with the listed size. Blobs already stored here are
 * skipped (not even read). New ones are handed to the receive pool's worker threads as ranges of
 * the archive files: the workers read, write and hash them with every stored digest (computed
 * from the bytes, never taken from the archive) while this thread parses on. Each is verified
 * against its listed sha256 and only then stored (in batches), once the chunks are verified. In a
 * dry run every blob is hashed and verified here, and nothing is written.
 */
export async function importArtifacts(
  p: Platform,
  listFile: string,
  next: () => Promise<BlobEntry | null>,
  opts: {
    dryRun: boolean; signal: AbortSignal; onBlob(bytes: number): void; problems: string[];
    /** Resolves once the archive's chunks are verified: no blob is stored before (rejects: none is). */
    ready: Promise<void>;
    /**
     * The import's work area (under the storage's temp folder, removed with it on failure): temp
     * files are written into folders made here, one per receive-pool worker (see BlobWriter).
     */
    workDir: string;
  },
): Promise<ArtifactImportStats> {
  if (opts.dryRun) return verifyArtifacts(listFile, next, opts);
  const stats: ArtifactImportStats = { stored: 0, skipped: 0, bytes: 0 };
  const pool = p.sync.receivePool();
  const batcher = new ArtifactStoreBatcher(p.artifacts, (moves) => pool.move(moves));
  const tempDirs = Array.from({ length: Math.max(1, availableParallelism()) }, (_, i) => path.join(opts.workDir, `blobs-${i}`));
  for (const d of tempDirs) await mkdir(d, { recursive: true });
  const writer = new BlobWriter(pool, p.artifacts, tempDirs);
  try {
    for await (const { batch, have } of withStored(p, listFile)) {
      for (const want of batch) {
        if (opts.signal.aborted) throw opts.signal.reason;
        writer.throwIfFailed();
        const entry = checkEntry(await next(), want);
        stats.bytes += entry.size;
        if (have.has(want.sha256)) {
          await entry.skip();
          stats.skipped++;
          opts.onBlob(entry.size);
          continue;
        }
        await writer.write(entry, want.sha256, async (got) => {
          // Verified before anything may reference it: only a matching file reaches storage.
          if (got.digests.sha256 !== want.sha256 || got.size !== want.size) throw new TaskError(corrupt(want, got.digests.sha256));
          opts.onBlob(got.size);
          await opts.ready;
          await batcher.store(got);
          stats.stored++;
        });
      }
    }
    await writer.finished();
    // Every temp file was moved into storage: the folders are empty.
    for (const d of tempDirs) await rmdir(d);
    return stats;
  } catch (e) {
    // Blobs still in the workers are written, then deleted (or stored, once verified): nothing
    // of this import is left in the temp folder when the task fails.
    await writer.settled();
    throw e;
  }
}

/** Dry run: reads and hashes every blob on this thread, reporting mismatches; writes nothing. */
async function verifyArtifacts(
  listFile: string,
  next: () => Promise<BlobEntry | null>,
  opts: { signal: AbortSignal; onBlob(bytes: number): void; problems: string[] },
): Promise<ArtifactImportStats> {
  const stats: ArtifactImportStats = { stored: 0, skipped: 0, bytes: 0 };
  for await (const batch of listBatches(listFile)) {
    for (const want of batch) {
      if (opts.signal.aborted) throw opts.signal.reason;
      const entry = checkEntry(await next(), want);
      stats.bytes += entry.size;
      // Only the content address is checked here; the other digests are computed when storing.
      const hasher = new MultiHasher(['sha256']);
      try {
        for await (const c of entry.body) hasher.update(c as Buffer);
      } catch (e) {
        throw e instanceof TaskError ? e : new TaskError(`Reading artifact ${want.sha256} from the archive failed: ${(e as Error).message}`);
      }
      const sha256 = hasher.digest().sha256;
      if (sha256 !== want.sha256 || hasher.size !== want.size) opts.problems.push(corrupt(want, sha256));
      else opts.onBlob(entry.size);
    }
  }
  return stats;
}
