import { TaskError } from '@pith/plugin-api';
import { createReadStream } from 'node:fs';
import { writeFile, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Platform } from '../platform';
import { MultiHasher, artifactStorageName } from '../storage/hashing';
import { ArtifactStoreBatcher } from '../sync/artifact-store-batcher';
import { isPlainObject } from './row-validation';
import { copyBody } from './archive-input';

const SHA256 = /^[0-9a-f]{64}$/;
/** List lines looked up per query (the existing ones are skipped without a write). */
const LOOKUP_BATCH = 500;
/** Blobs up to this size are read whole and written with one call. */
const SMALL_BLOB = 256 * 1024;

/** One tar entry as the archive reader hands it over. */
export interface BlobEntry {
  name: string;
  size: number;
  body: Readable;
  skip(): Promise<void>;
  buffer(maxBytes?: number): Promise<Buffer>;
}

export interface ArtifactImportStats {
  stored: number;
  skipped: number;
  bytes: number;
}

/** Reads the staged artifact list (`{"sha256","size"}` lines) in batches, checking every line. */
async function* listBatches(file: string): AsyncGenerator<Array<{ sha256: string; size: number }>> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let batch: Array<{ sha256: string; size: number }> = [];
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

/** Reads an entry body whole (small blobs) or into a temp file, hashing with every stored digest. */
async function receive(p: Platform, entry: BlobEntry): Promise<{ path: string; hasher: MultiHasher }> {
  const hasher = new MultiHasher(p.artifacts.digests);
  const tmp = p.artifacts.tempPath();
  if (entry.size <= SMALL_BLOB) {
    // Usually a view into the archive's read buffer: no copy, no stream per blob.
    const buf = await entry.buffer(SMALL_BLOB);
    hasher.update(buf);
    await writeFile(tmp, buf);
    return { path: tmp, hasher };
  }
  await copyBody(entry, tmp, (c) => hasher.update(c));
  return { path: tmp, hasher };
}

/**
 * Imports the artifact blobs that follow the artifact list in the archive, in the list's order:
 * each entry must be the next listed digest with the listed size. Blobs already stored here are
 * skipped (drained, not written); new ones are hashed while received, verified against their
 * sha256 and stored in batches. In a dry run every blob is hashed and verified, nothing is written.
 */
export async function importArtifacts(
  p: Platform,
  listFile: string,
  next: () => Promise<BlobEntry | null>,
  opts: { dryRun: boolean; signal: AbortSignal; onBlob(bytes: number): void; problems: string[] },
): Promise<ArtifactImportStats> {
  const batcher = new ArtifactStoreBatcher(p.artifacts);
  const stats: ArtifactImportStats = { stored: 0, skipped: 0, bytes: 0 };
  const storing: Array<Promise<unknown>> = [];
  let failed: unknown = null;
  for await (const batch of listBatches(listFile)) {
    const found = await p.db.query<{ sha256: string }>('SELECT sha256 FROM core_artifact WHERE sha256 = ANY($1::text[])', [batch.map((b) => b.sha256)]);
    const have = new Set(found.map((f) => f.sha256));
    for (const want of batch) {
      if (opts.signal.aborted) throw opts.signal.reason;
      if (failed) throw failed;
      const entry = await next();
      const expectedName = artifactStorageName(want.sha256);
      if (!entry) throw new TaskError(`The archive ends before artifact ${want.sha256} listed in artifacts.jsonl.`);
      if (entry.name !== expectedName) throw new TaskError(`Archive member '${entry.name}' found where artifact ${expectedName} was listed.`);
      if (entry.size !== want.size) throw new TaskError(`Artifact ${want.sha256} is ${entry.size} bytes in the archive but listed as ${want.size}.`);
      stats.bytes += entry.size;
      if (have.has(want.sha256) && !opts.dryRun) {
        await entry.skip();
        stats.skipped++;
        opts.onBlob(entry.size);
        continue;
      }
      const got = await receive(p, entry).catch((e) => {
        throw e instanceof TaskError ? e : new TaskError(`Reading artifact ${want.sha256} from the archive failed: ${(e as Error).message}`);
      });
      const digests = got.hasher.digest();
      if (digests.sha256 !== want.sha256 || got.hasher.size !== want.size) {
        await unlink(got.path).catch(() => undefined);
        const msg = `Artifact ${want.sha256} in the archive has sha256 ${digests.sha256}: the archive is corrupt.`;
        if (!opts.dryRun) throw new TaskError(msg);
        opts.problems.push(msg);
        continue;
      }
      opts.onBlob(entry.size);
      if (opts.dryRun) {
        await unlink(got.path).catch(() => undefined);
        continue;
      }
      const s = batcher.store({ path: got.path, size: got.hasher.size, digests }).then(() => void stats.stored++);
      s.catch((e) => (failed ??= e));
      storing.push(s);
      if (storing.length >= 1000) await Promise.all(storing.splice(0));
    }
  }
  await Promise.all(storing);
  return stats;
}
