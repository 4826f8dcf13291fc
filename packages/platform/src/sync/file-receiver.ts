import { unlink } from 'node:fs/promises';
import type { HashedFile } from '../storage/artifact-storage.service';
import { findMismatch, type DigestName, type ExpectedFile } from '../storage/hashing';
import { AttemptError } from './download.error';
import { MAX_BACKLOG, type ReceivePool, type ReceiveSession } from './receive-pool';

/**
 * A body is kept in memory up to this size and handed over whole when it ends (small files:
 * one grouped message, no per-file round trips); beyond it, it streams to the worker.
 */
const STREAM_THRESHOLD = 256 * 1024;

/**
 * Receives one download into a temp file on the media filesystem. Bytes are counted here (a body
 * longer than the expected size is refused as it arrives, so a hostile server cannot fill the
 * disk) and handed to a pool worker that writes and hashes them: the event loop does no per-file
 * filesystem calls and no hashing.
 */
export class FileReceiver {
  size = 0;
  private readonly limit: number;
  private readonly session: ReceiveSession;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private streamed = false;

  constructor(
    readonly path: string,
    algorithms: readonly DigestName[],
    private readonly expected: ExpectedFile,
    pool: ReceivePool,
  ) {
    this.limit = expected.size !== undefined && expected.size !== null ? Number(expected.size) : Infinity;
    this.session = pool.session(path, algorithms);
  }

  /** True once the body outgrew memory and streams to the worker (a large file). */
  get streaming(): boolean {
    return this.streamed;
  }

  /** Takes a chunk; returns a promise when the sender should wait (the worker is behind). */
  push(chunk: Buffer): Promise<void> | null {
    this.size += chunk.length;
    if (this.size > this.limit) throw new AttemptError(`size mismatch (expected ${this.limit} bytes, received more)`, true);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < STREAM_THRESHOLD) return null;
    this.streamed = true;
    this.session.write(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.session.backlog > MAX_BACKLOG ? this.session.drain() : null;
  }

  /** Completes the file and checks size and digests; throws a retriable AttemptError on mismatch. */
  async finish(): Promise<HashedFile> {
    const chunks = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const r = await this.session.finish(chunks, bytes);
    const hashed: HashedFile = { path: this.path, size: r.size, digests: r.digests };
    const bad = findMismatch(hashed, this.expected);
    if (bad) {
      throw new AttemptError(`${bad.field === 'size' ? 'size' : `${bad.field} checksum`} mismatch (expected ${bad.expected}, got ${bad.actual})`, true);
    }
    return hashed;
  }

  /** Drops the temp file (after a failure); resolves once it is gone. */
  async discard(): Promise<void> {
    this.pending = [];
    if (this.session.orphaned) await unlink(this.path).catch(() => undefined);
    else await this.session.discard();
  }
}
