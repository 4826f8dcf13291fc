import { RateLimiter, Semaphore, sleep } from './limiters';

describe('Semaphore', () => {
  it('hands slots out in FIFO order and never exceeds its size', async () => {
    const s = new Semaphore(2);
    let active = 0;
    let max = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      await s.acquire();
      order.push(i);
      active++;
      max = Math.max(max, active);
      await sleep(5);
      active--;
      s.release();
    }));
    expect(max).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.inUse).toBe(0);
  });

  it('lets a waiter give up through its signal without losing the slot', async () => {
    const s = new Semaphore(1);
    await s.acquire();
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    const next = s.acquire();
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    s.release();
    await next;
    expect(s.inUse).toBe(1);
    s.release();
    expect(s.inUse).toBe(0);
    await expect(s.acquire(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('rejects nonsense sizes', () => {
    expect(() => new Semaphore(0)).toThrow();
    expect(() => new Semaphore(1.5)).toThrow();
  });
});

describe('RateLimiter', () => {
  it('spaces starts to the rate', async () => {
    const r = new RateLimiter(20);
    const started = performance.now();
    const at: number[] = [];
    await Promise.all(Array.from({ length: 5 }, async () => {
      await r.wait();
      at.push(performance.now() - started);
    }));
    at.sort((a, b) => a - b);
    expect(at[0]!).toBeLessThan(20);
    // Five starts at 20/s: the last no earlier than 4 × 50 ms after the first.
    expect(at[4]! - at[0]!).toBeGreaterThanOrEqual(195);
  });

  it('stops waiting when aborted', async () => {
    const r = new RateLimiter(1);
    await r.wait();
    const ac = new AbortController();
    const w = r.wait(ac.signal);
    ac.abort(new Error('canceled'));
    await expect(w).rejects.toThrow('canceled');
  });
});
