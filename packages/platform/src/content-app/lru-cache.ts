/**
 * A small LRU map bounded by entry count and, optionally, by total weight (bytes). Map iteration
 * order is insertion order, so re-inserting on read keeps the oldest entry first for eviction.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private weight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight = Infinity,
    private readonly weigh: (v: V) => number = () => 0,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Whether the key is cached (without refreshing it); cached `null`s count as present. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    const w = this.weigh(value);
    if (w > this.maxWeight) return;
    this.delete(key);
    this.map.set(key, value);
    this.weight += w;
    while (this.map.size > this.maxEntries || this.weight > this.maxWeight) {
      const oldest = this.map.keys().next().value as K;
      this.delete(oldest);
    }
  }

  delete(key: K): void {
    if (!this.map.has(key)) return;
    this.weight -= this.weigh(this.map.get(key) as V);
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}
