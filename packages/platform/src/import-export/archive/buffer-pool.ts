/**
 * Fixed set of equal slots in one SharedArrayBuffer, reference-counted: the tar writer fills a
 * slot and hands it to the ChunkedFileWriter, which writes it (thread pool) and has it hashed (hash
 * thread) at the same time, zero-copy, and the slot is reused once both are done. Memory stays at
 * `slots × slotBytes`; a writer that runs out of slots waits (back-pressure).
 */
export class SharedBufferPool {
  readonly sab: SharedArrayBuffer;
  private readonly refs: Int32Array;
  private readonly free: number[] = [];
  private waiters: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  private closed: Error | null = null;

  constructor(
    readonly slots: number,
    readonly slotBytes: number,
  ) {
    this.sab = new SharedArrayBuffer(slots * slotBytes);
    this.refs = new Int32Array(slots);
    for (let i = slots - 1; i >= 0; i--) this.free.push(i);
  }

  /** A free slot (reference count 1, owned by the caller until handed on), waiting for one if needed. */
  acquire(): Buffer | Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    const slot = this.free.pop();
    if (slot !== undefined) return this.take(slot);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Slot index of a buffer inside this pool, or -1 (a buffer from elsewhere). */
  slotOf(buf: Uint8Array): number {
    if (buf.buffer !== this.sab) return -1;
    return Math.floor(buf.byteOffset / this.slotBytes);
  }

  retain(slot: number): void {
    this.refs[slot]!++;
  }

  release(slot: number): void {
    if (--this.refs[slot]! > 0) return;
    const w = this.waiters.shift();
    if (w) w.resolve(this.take(slot));
    else this.free.push(slot);
  }

  /** Fails every current and later acquire (the output is gone). */
  close(err: Error): void {
    this.closed ??= err;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
  }

  private take(slot: number): Buffer {
    this.refs[slot] = 1;
    return Buffer.from(this.sab, slot * this.slotBytes, this.slotBytes);
  }
}
