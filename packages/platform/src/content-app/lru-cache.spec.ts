import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3);
    expect(c.has('b')).toBe(false);
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
  });

  it('bounds total weight and refuses single entries heavier than the bound', () => {
    const c = new LruCache<string, Buffer>(100, 10, (b) => b.length);
    c.set('a', Buffer.alloc(6));
    c.set('b', Buffer.alloc(6));
    expect(c.has('a')).toBe(false);
    expect(c.has('b')).toBe(true);
    c.set('big', Buffer.alloc(11));
    expect(c.has('big')).toBe(false);
    c.set('b', Buffer.alloc(2));
    c.set('d', Buffer.alloc(8));
    expect(c.size).toBe(2);
  });

  it('keeps cached nulls distinguishable from misses', () => {
    const c = new LruCache<string, number | null>(10);
    c.set('x', null);
    expect(c.has('x')).toBe(true);
    expect(c.get('x')).toBeNull();
    expect(c.get('y')).toBeUndefined();
  });
});
