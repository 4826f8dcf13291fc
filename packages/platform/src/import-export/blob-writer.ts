import { TaskError } from '@pith/plugin-api';
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { ArtifactStorageService, HashedFile } from '../storage/artifact-storage.service';
import type { FileRange, ReceivedFile, ReceivePool } from '../sync/receive-pool';
import type { BlobEntry } from './import-artifacts';

/** Small blobs travel together: one worker message per this many files… */
const BATCH_FILES = 64;
/** …or bytes (a larger blob goes alone, so consecutive ones land on different workers). */
const BATCH_BYTES = 1 << 20;
/**
 * Bytes handed to the workers and not written + hashed yet: the archive is read on only while
 * fewer are queued. Nothing is buffered for them (workers read the archive themselves), so this
 * only keeps both workers fed without queueing the whole archive.
 */
const MAX_IN_FLIGHT = 64 << 20;
/**
 * …and files: small ones cost per file, not per byte, and the storing transactions' renames
 * queue on a worker behind whatever is in flight there (while they hold their artifact locks).
 */
const MAX_FILES_IN_FLIGHT = 256;

interface Job {
  path: string;
  ranges: FileRange[];
  size: number;
  label: string;
  then(f: HashedFile): Promise<void>;
}

/**
 * Writes archive blobs to temp files through the receive pool's worker threads: a worker reads
 * the blob's byte ranges from the open archive files itself, writes them and hashes them with
 * every stored digest, so this thread only parses headers (no body bytes pass through it, no
 * buffers to collect). Each written file goes to the caller's `then` (verify, store); a temp file
 * is deleted whenever it does not make it into storage. The first failure is kept and rethrown.
 */
export class BlobWriter {
  private inFlight = 0;
  private filesInFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown = null;
  private waiters: Array<() => void> = [];
  private batch: Job[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Batches handed over so far (picks the temp folder of the one being gathered). */
  private batches = 0;

  /**
   * `tempDirs`: existing folders (on the storage's filesystem) the temp files go to, consecutive
   * batches in turn; by default the storage's temp folder. Creating a file locks its folder: the
   * pool's workers writing small blobs into one folder at once wait on each other (about half of
   * all their time at 4 KiB), and batches go to the workers in turn, so one folder per worker
   * lets them create files side by side.
   */
  constructor(private readonly pool: ReceivePool, private readonly artifacts: ArtifactStorageService, private readonly tempDirs: string[] = []) {}

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Takes `entry`'s body (the archive may move on once this resolves; its files must stay open
   * until `settled()`) to be written into a new temp file; `then` gets the written file with its
   * computed digests (storing it moves or deletes it); when `then` fails, the file is deleted.
   */
  async write(entry: BlobEntry, label: string, then: (f: HashedFile) => Promise<void>): Promise<void> {
    if (this.full) {
      this.flush();
      while (this.full && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    }
    this.throwIfFailed();
    let ranges: FileRange[];
    try {
      ranges = await entry.ranges();
    } catch (e) {
      throw e instanceof TaskError ? e : new TaskError(`Reading artifact ${label} from the archive failed: ${(e as Error).message}`);
    }
    const idle = this.filesInFlight === 0;
    this.inFlight += entry.size;
    this.filesInFlight++;
    this.batch.push({ path: this.tempPath(), ranges, size: entry.size, label, then });
    this.batchBytes += entry.size;
    // Full batches go at once, and so does anything while the workers have nothing to do; else
    // small blobs gather (fewer, larger messages) until full or the next timer tick.
    if (idle || this.batch.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 1);
  }

  private tempPath(): string {
    const dirs = this.tempDirs;
    return dirs.length ? path.join(dirs[this.batches % dirs.length]!, randomUUID()) : this.artifacts.tempPath();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const jobs = this.batch;
    if (!jobs.length) return;
    this.batches++;
    this.batch = [];
    this.batchBytes = 0;
    const done = this.pool.copy(jobs.map((j) => ({ path: j.path, ranges: j.ranges })), this.artifacts.digests);
    jobs.forEach((j, i) => this.track(j, done[i]!));
  }

  private track(job: Job, done: Promise<ReceivedFile>): void {
    const task = done
      .then(
        async (r) => {
          this.release(job.size);
          try {
            await job.then({ path: job.path, size: r.size, digests: r.digests });
          } catch (e) {
            // Storing moves or removes the file itself, also when it fails; before that it is ours.
            await unlink(job.path).catch(() => undefined);
            throw e;
          }
        },
        async (e: Error) => {
          this.release(job.size);
          // The worker deletes what it wrote on failure; a worker that died could not.
          await unlink(job.path).catch(() => undefined);
          throw new TaskError(`Writing artifact ${job.label} failed: ${e.message}`);
        },
      )
      .catch((e) => {
        this.failure ??= e;
        this.wake();
      });
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Waits for every blob handed over; throws the first failure. */
  async finished(): Promise<void> {
    await this.settled();
    this.throwIfFailed();
  }

  /** Waits until no blob is in a worker or being stored any more (after a failure: until all are cleaned up). */
  async settled(): Promise<void> {
    this.flush();
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private get full(): boolean {
    return this.inFlight > MAX_IN_FLIGHT || this.filesInFlight >= MAX_FILES_IN_FLIGHT;
  }

  private release(bytes: number): void {
    this.inFlight -= bytes;
    this.filesInFlight--;
    if (!this.full) this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
