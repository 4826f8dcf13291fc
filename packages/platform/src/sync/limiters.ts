/** The reason an aborted signal carries, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('The operation was aborted.');
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Counting semaphore with FIFO hand-off; waiting can be abandoned through a signal. */
export class Semaphore {
  private free: number;
  private readonly waiters: Waiter[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`semaphore size must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** Slots currently taken. */
  get inUse(): number {
    return this.size - this.free;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.free > 0 && this.waiters.length === 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) {
      // The slot passes straight to the next waiter: `free` stays unchanged.
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else {
      this.free++;
    }
  }
}

/**
 * Spaces request starts to at most `perSecond` (a remote's `rate_limit`): each caller reserves
 * the next free start time, so bursts are smoothed rather than rejected.
 */
export class RateLimiter {
  private next = 0;
  private readonly interval: number;

  constructor(perSecond: number) {
    if (!(perSecond > 0)) throw new Error(`rate limit must be positive, got ${perSecond}`);
    this.interval = 1000 / perSecond;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + this.interval;
    if (at > now) await sleep(at - now, signal);
  }
}
