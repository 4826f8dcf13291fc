import { randomFillSync } from 'node:crypto';

/** Random bytes drawn from the CSPRNG at once (one call per ~400 ids instead of one per id). */
const POOL_BYTES = 4096;
/** Random bytes per id: 4 bits of rand_a are dropped for the version, 2 of rand_b for the variant. */
const PER_ID = 10;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * RFC 9562 UUIDv7: time-ordered ids, so primary-key order is creation order and B-tree inserts stay
 * append-mostly. Hand-written because the `uuid` package is ESM-only from v12 and this is short.
 * Syncs make several ids per unit, so the random part comes from a pooled buffer (as Node's own
 * randomUUID does) and the text is built from a lookup table: a randomBytes call per id was ~6 %
 * of a small-file sync's CPU.
 */
export function uuid7(): string {
  if (offset + PER_ID > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += PER_ID;
  // 48-bit millisecond timestamp, big-endian: the high 16 and low 32 bits (exact in a double).
  const ms = Date.now();
  const hi = Math.floor(ms / 0x100000000);
  const lo = ms >>> 0;
  return (
    HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + HEX[lo >>> 24]! + HEX[(lo >>> 16) & 0xff]! + '-' +
    HEX[(lo >>> 8) & 0xff]! + HEX[lo & 0xff]! + '-' +
    HEX[0x70 | (pool[r]! & 0x0f)]! + HEX[pool[r + 1]!]! + '-' +
    HEX[0x80 | (pool[r + 2]! & 0x3f)]! + HEX[pool[r + 3]!]! + '-' +
    HEX[pool[r + 4]!]! + HEX[pool[r + 5]!]! + HEX[pool[r + 6]!]! + HEX[pool[r + 7]!]! + HEX[pool[r + 8]!]! + HEX[pool[r + 9]!]!
  );
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
