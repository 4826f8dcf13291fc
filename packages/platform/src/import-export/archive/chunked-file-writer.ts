import { constants as fsc } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ArchiveError } from './archive-errors';
import { SharedBufferPool } from './buffer-pool';
import { Sha256Thread } from './hash-thread';

/** One finished output file. */
export interface WrittenFile {
  /** Basename, e.g. `export-….tar.0003`. */
  name: string;
  /** Absolute path of the final file. */
  path: string;
  size: number;
  /** Lowercase hex sha256 of the file's bytes, computed while writing. */
  sha256: string;
}

export interface ChunkedFileWriterOptions {
  /** Existing folder receiving the files. */
  dir: string;
  /** File name stem: output is `<base>.tar` or `<base>.tar.0000`, `<base>.tar.0001`, … */
  base: string;
  /** Bytes per chunk, or null for a single `<base>.tar`. */
  chunkSize: number | null;
  /** Small writes are gathered up to this many bytes and written with one writev (default 1 MiB). */
  batchBytes?: number;
}

/**
 * Name of output file `index` (null = unchunked). The suffix is the index zero-padded to 4
 * digits, so chunk 10000 is `.10000`: readers must order chunks by the numeric value of the
 * suffix, never lexicographically (Pulp's importer sorts lexicographically and misorders them).
 */
export function chunkFileName(base: string, index: number | null): string {
  return index === null ? `${base}.tar` : `${base}.tar.${String(index).padStart(4, '0')}`;
}

interface OutFile {
  name: string;
  tmpPath: string;
  finalPath: string;
  renamed: boolean;
  size: number;
  /** Its stream on the hash thread (= its index) and, once closed, its digest. */
  id: number;
  sha256: Promise<string> | null;
  fh: FileHandle | null;
}

const MiB = 1 << 20;
/** Pool slots for the tar writer's output buffers: enough to keep reads, writes and hashing all busy. */
const POOL_SLOTS = 16;

/**
 * Writable sink for an export archive: writes `<base>.tar`, or rotates to a new
 * `<base>.tar.NNNN` exactly every `chunkSize` bytes, hashing every file (sha256) as its bytes go
 * by, so nothing is read twice (Pulp's split(1) pipeline re-read every chunk, #7218).
 *
 * Files are written as `.<name>.partial` in the same folder and renamed to their final names only
 * when the stream finishes successfully. Any write error, `destroy()` or `abort()` removes every
 * file this writer created (partial or renamed), so a failed export leaves nothing behind.
 *
 * Small writes are gathered (no copy, buffers are kept by reference until written — do not reuse
 * a buffer after writing it) and written with one writev of ≥ `batchBytes`; large writes go out
 * as they come. Back-pressure is the normal Writable one (highWaterMark 4 MiB).
 *
 * Hashing runs on a worker thread (Sha256Thread), overlapping the writes and the caller's reads.
 * Buffers taken from `buffers` (the TarWriter's `buffers` option) are hashed there in place and
 * return to the pool once written and hashed; any other buffer is copied to the thread.
 */
export class ChunkedFileWriter extends Writable {
  readonly dir: string;
  readonly base: string;
  readonly chunkSize: number | null;
  private readonly batchBytes: number;
  private readonly files: OutFile[] = [];
  private cur: OutFile | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private busy: Promise<unknown> = Promise.resolve();
  private result: WrittenFile[] | null = null;
  private removal: Promise<void> | null = null;
  /** Output buffers shared with the hash thread (hand a slot to write() once, then leave it). */
  readonly buffers: SharedBufferPool;
  private hasher: Sha256Thread | null = null;
  private pendingSlots: number[] = [];

  constructor(opts: ChunkedFileWriterOptions) {
    super({ highWaterMark: 4 * MiB, decodeStrings: true });
    if (opts.chunkSize !== null && (!Number.isSafeInteger(opts.chunkSize) || opts.chunkSize <= 0)) {
      throw new RangeError(`chunkSize must be a positive integer or null, got ${opts.chunkSize}`);
    }
    if (!opts.base || opts.base !== path.basename(opts.base)) throw new RangeError(`base must be a plain file name: ${opts.base}`);
    this.dir = path.resolve(opts.dir);
    this.base = opts.base;
    this.chunkSize = opts.chunkSize;
    this.batchBytes = opts.batchBytes ?? MiB;
    this.buffers = new SharedBufferPool(POOL_SLOTS, MiB);
  }

  /** Ends the stream (if not ended yet), waits for the final renames and returns the files in order. */
  finish(): Promise<WrittenFile[]> {
    if (this.result) return Promise.resolve(this.result);
    if (this.errored) return Promise.reject(this.errored);
    if (this.destroyed) return Promise.reject(new ArchiveError('Export output was aborted.'));
    return new Promise((resolve, reject) => {
      const onFinish = (): void => {
        cleanup();
        if (this.result) resolve(this.result);
        else reject(new ArchiveError('Export output was not completed.'));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onClose = (): void => {
        cleanup();
        if (this.result) resolve(this.result);
        else reject(this.errored ?? new ArchiveError('Export output was aborted.'));
      };
      const cleanup = (): void => {
        this.off('finish', onFinish);
        this.off('error', onError);
        this.off('close', onClose);
      };
      this.on('finish', onFinish);
      this.on('error', onError);
      this.on('close', onClose);
      if (!this.writableEnded && !this.destroyed) this.end();
    });
  }

  /**
   * Stops writing and removes every file created so far, including final files when called
   * after a successful finish (e.g. the TOC could not be written). Never emits 'error'.
   */
  async abort(): Promise<void> {
    if (!this.destroyed) this.destroy();
    await this.removeAll();
  }

  /** Bytes accepted so far over all files; for progress reporting. */
  get bytesAccepted(): number {
    let n = 0;
    for (const f of this.files) n += f.size;
    return n;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.track(this.put([chunk])).then(() => cb(), cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.track(this.put(chunks.map((c) => c.chunk))).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.track(this.complete()).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (err || !this.result) {
      this.removeAll().then(
        () => cb(err),
        () => cb(err),
      );
    } else cb(null);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.busy = p.catch(() => undefined);
    return p;
  }

  private async put(bufs: Buffer[]): Promise<void> {
    for (const whole of bufs) {
      // A pool slot arrives with one reference (the caller's), dropped once its pieces are queued.
      const slot = this.buffers.slotOf(whole);
      try {
        let b = whole;
        while (b.length > 0) {
          if (this.destroyed) return;
          if (!this.cur) await this.openNext();
          const cur = this.cur!;
          const room = this.chunkSize === null ? b.length : this.chunkSize - cur.size;
          const piece = b.length <= room ? b : b.subarray(0, room);
          this.hasher!.update(cur.id, piece);
          cur.size += piece.length;
          this.pending.push(piece);
          this.pendingSlots.push(slot);
          if (slot >= 0) this.buffers.retain(slot);
          this.pendingBytes += piece.length;
          b = b.subarray(piece.length);
          if (this.chunkSize !== null && cur.size === this.chunkSize) {
            await this.flush();
            await this.closeCurrent();
          } else if (this.pendingBytes >= this.batchBytes) {
            await this.flush();
          }
        }
      } finally {
        if (slot >= 0) this.buffers.release(slot);
      }
    }
  }

  private async openNext(): Promise<void> {
    const index = this.chunkSize === null ? null : this.files.length;
    if (index === null && this.files.length > 0) throw new Error('unchunked output already opened');
    const name = chunkFileName(this.base, index);
    const file: OutFile = {
      name,
      tmpPath: path.join(this.dir, `.${name}.partial`),
      finalPath: path.join(this.dir, name),
      renamed: false,
      size: 0,
      id: this.files.length,
      sha256: null,
      fh: null,
    };
    this.hasher ??= new Sha256Thread(this.buffers);
    // O_EXCL: never write through a pre-existing file or symlink planted under the temp name.
    file.fh = await open(file.tmpPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    this.files.push(file);
    this.cur = file;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const fh = this.cur?.fh;
    if (!fh) throw new Error('no open output file');
    let bufs = this.pending;
    const slots = this.pendingSlots;
    let left = this.pendingBytes;
    this.pending = [];
    this.pendingSlots = [];
    this.pendingBytes = 0;
    // writev may write less than asked (IOV_MAX, signals, disk full); continue where it stopped.
    while (left > 0) {
      const { bytesWritten } = await fh.writev(bufs);
      if (bytesWritten <= 0) throw new ArchiveError(`Could not write ${this.cur!.name}: no progress (disk full?).`);
      left -= bytesWritten;
      if (left > 0) bufs = skipBytes(bufs, bytesWritten);
    }
    // Only on success: after a failure the pool is closed with the writer.
    for (const s of slots) if (s >= 0) this.buffers.release(s);
  }

  private async closeCurrent(): Promise<void> {
    const cur = this.cur;
    if (!cur?.fh) return;
    const fh = cur.fh;
    cur.fh = null;
    this.cur = null;
    cur.sha256 = this.hasher!.digest(cur.id);
    cur.sha256.catch(() => undefined); // awaited in complete(); a failure is reported there
    await fh.close();
  }

  private async complete(): Promise<void> {
    if (this.files.length === 0) await this.openNext(); // nothing written: still produce one (empty) file
    await this.flush();
    await this.closeCurrent();
    // Refuse to replace an existing export: rename(2) would silently overwrite it.
    for (const f of this.files) {
      if (await exists(f.finalPath)) throw new ArchiveError(`Export file ${f.name} already exists in ${this.dir}.`);
    }
    const digests = await Promise.all(this.files.map((f) => f.sha256!));
    await this.hasher?.close();
    for (const f of this.files) {
      await rename(f.tmpPath, f.finalPath);
      f.renamed = true;
    }
    this.result = this.files.map((f, i) => ({ name: f.name, path: f.finalPath, size: f.size, sha256: digests[i]! }));
  }

  private removeAll(): Promise<void> {
    if (!this.removal) {
      this.removal = (async () => {
        await this.busy;
        this.buffers.close(new ArchiveError('Export output was aborted.'));
        await this.hasher?.close();
        for (const f of this.files) {
          if (f.fh) await f.fh.close().catch(() => undefined);
          f.fh = null;
          await unlink(f.renamed ? f.finalPath : f.tmpPath).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
        }
        this.cur = null;
        this.pending = [];
        this.pendingSlots = [];
        this.pendingBytes = 0;
      })();
    }
    return this.removal;
  }
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  let left = n;
  while (i < bufs.length && left >= bufs[i]!.length) left -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p); // lstat: a dangling symlink is there too
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
