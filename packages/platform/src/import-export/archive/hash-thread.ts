import { Worker } from 'node:worker_threads';
import { ArchiveError } from './archive-errors';
import type { SharedBufferPool } from './buffer-pool';

/**
 * The thread's code, inline (no separate file to locate from dist/ or ts-jest). Messages are
 * handled in order, so each stream's updates hash in the order they were sent.
 *   {u: id, o, l, s}  hash l bytes at offset o of the shared pool, then ack slot s: {a: s}
 *   {u: id, b}        hash a (transferred) copy
 *   {d: id}           answer {d: id, h: hex digest} and forget the stream
 */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const sab = workerData.sab;
const hashes = new Map();
const of = (id) => { let h = hashes.get(id); if (!h) { h = createHash('sha256'); hashes.set(id, h); } return h; };
parentPort.on('message', (m) => {
  if (m.u !== undefined) {
    if (m.b) of(m.u).update(m.b);
    else { of(m.u).update(new Uint8Array(sab, m.o, m.l)); parentPort.postMessage({ a: m.s }); }
  } else if (m.d !== undefined) {
    const h = of(m.d);
    hashes.delete(m.d);
    parentPort.postMessage({ d: m.d, h: h.digest('hex') });
  }
});
`;

/** Bytes from outside the pool are copied and sent in batches of about this size. */
const COPY_BATCH = 256 * 1024;

/**
 * sha256 of several byte streams on a worker thread, so hashing an export (≈ 1.5 GB/s per core
 * here) overlaps reading the artifacts and writing the archive on the main thread and the thread
 * pool instead of adding to them. Pool slots are hashed in place (zero-copy) and released when
 * hashed; other buffers are copied first. The thread is unref'd and stops with close().
 */
export class Sha256Thread {
  private readonly worker: Worker;
  private readonly digests = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  private copies: Buffer[] = [];
  private copyBytes = 0;
  private copyId = -1;
  private failed: Error | null = null;
  private closed = false;

  constructor(private readonly pool: SharedBufferPool) {
    this.worker = new Worker(THREAD_CODE, { eval: true, workerData: { sab: pool.sab } });
    this.worker.unref();
    this.worker.on('message', (m: { a?: number; d?: number; h?: string }) => {
      if (m.a !== undefined) this.pool.release(m.a);
      else if (m.d !== undefined) {
        const w = this.digests.get(m.d);
        this.digests.delete(m.d);
        w?.resolve(m.h!);
      }
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => this.fail(new ArchiveError('The hashing thread stopped.')));
  }

  /** Adds `piece` to stream `id`. A piece of a pool slot is retained until hashed. */
  update(id: number, piece: Buffer): void {
    if (this.failed) throw this.failed;
    if (piece.length === 0) return;
    const slot = this.pool.slotOf(piece);
    if (slot < 0) {
      if (this.copyId !== id) this.sendCopies();
      this.copyId = id;
      this.copies.push(piece);
      this.copyBytes += piece.length;
      if (this.copyBytes >= COPY_BATCH) this.sendCopies();
      return;
    }
    this.sendCopies();
    this.pool.retain(slot);
    this.worker.postMessage({ u: id, o: piece.byteOffset, l: piece.length, s: slot });
  }

  /** The stream's hex digest, once every update sent before has been hashed. */
  digest(id: number): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    this.sendCopies();
    return new Promise((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.worker.postMessage({ d: id });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new ArchiveError('The hashing thread was closed.'));
    await this.worker.terminate();
  }

  private sendCopies(): void {
    if (!this.copyBytes) return;
    // One fresh, transferable copy: the caller may reuse its buffers once update() returns.
    const b = new Uint8Array(this.copyBytes);
    let at = 0;
    for (const c of this.copies) {
      b.set(c, at);
      at += c.length;
    }
    this.copies = [];
    this.copyBytes = 0;
    this.worker.postMessage({ u: this.copyId, b }, [b.buffer]);
  }

  private fail(e: Error): void {
    this.failed ??= e;
    this.pool.close(this.failed);
    const ws = [...this.digests.values()];
    this.digests.clear();
    for (const w of ws) w.reject(this.failed);
  }
}
