import type { ContentCounts } from '../db/entities/repository.entity';

export type TypeCounts = Record<string, number>;

/** `[{pulp_type, n}]` rows → `{pulp_type: n}` (zero counts dropped, keys sorted for stable JSON). */
export function countsFromRows(rows: Array<{ pulp_type: string; n: number | string }>): TypeCounts {
  const out: TypeCounts = {};
  for (const r of [...rows].sort((a, b) => a.pulp_type.localeCompare(b.pulp_type))) {
    const n = Number(r.n);
    if (n > 0) out[r.pulp_type] = n;
  }
  return out;
}

/** present(N) = present(previous) + added − removed; types that reach zero disappear. */
export function nextPresent(previous: TypeCounts, added: TypeCounts, removed: TypeCounts): TypeCounts {
  const merged: TypeCounts = { ...previous };
  for (const [t, n] of Object.entries(added)) merged[t] = (merged[t] ?? 0) + n;
  for (const [t, n] of Object.entries(removed)) merged[t] = (merged[t] ?? 0) - n;
  const out: TypeCounts = {};
  for (const t of Object.keys(merged).sort()) {
    const n = merged[t]!;
    if (n < 0) throw new Error(`content summary underflow for ${t}: ${n}`);
    if (n > 0) out[t] = n;
  }
  return out;
}

export function isEmptyChange(added: TypeCounts, removed: TypeCounts): boolean {
  return Object.keys(added).length === 0 && Object.keys(removed).length === 0;
}

export function totalCount(c: TypeCounts | undefined): number {
  let n = 0;
  for (const v of Object.values(c ?? {})) n += v;
  return n;
}

/** Reads a stored summary defensively (older rows or hand-written ones may lack keys). */
export function readSummary(raw: unknown): ContentCounts {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Partial<ContentCounts>;
  return { added: r.added ?? {}, removed: r.removed ?? {}, present: r.present ?? {} };
}
