/**
 * ustar header layout and the few encode/decode helpers shared by the tar writer and reader.
 * Hand-written rather than taken from a tar library: the npm `tar` package is not in this tree,
 * and the format part we need is small and fixed (POSIX.1-2001 ustar + pax), while both hot paths
 * want to encode/decode in place inside large buffers without per-entry objects.
 */
export const BLOCK = 512;

export const OFF = {
  name: 0,
  mode: 100,
  uid: 108,
  gid: 116,
  size: 124,
  mtime: 136,
  chksum: 148,
  typeflag: 156,
  linkname: 157,
  magic: 257,
  version: 263,
  uname: 265,
  gname: 297,
  devmajor: 329,
  devminor: 337,
  prefix: 345,
} as const;

export const NAME_LEN = 100;
export const PREFIX_LEN = 155;
/** Largest size an 11-digit octal field can hold (8 GiB − 1); bigger sizes go into a pax record. */
export const MAX_OCTAL_SIZE = 0o77777777777;

/** Writes `value` as zero-padded octal of `width - 1` digits followed by NUL. */
export function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  const digits = width - 1;
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    buf[off + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  buf[off + digits] = 0;
}

/** Unsigned byte sum of a header with the checksum field counted as eight spaces. */
export function headerChecksum(h: Buffer, off = 0): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[off + i]!;
  for (let i = 0; i < 8; i++) sum += 0x20 - h[off + OFF.chksum + i]!;
  return sum;
}

/** Same as headerChecksum but with signed bytes (historic tars computed it that way). */
export function headerChecksumSigned(h: Buffer, off = 0): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = h[off + i]!;
    sum += b > 127 ? b - 256 : b;
  }
  for (let i = 0; i < 8; i++) {
    const b = h[off + OFF.chksum + i]!;
    sum += 0x20 - (b > 127 ? b - 256 : b);
  }
  return sum;
}

/**
 * Parses a numeric field: octal digits (leading spaces allowed, terminated by NUL or space) or
 * GNU base-256 (high bit of the first byte set, used for sizes ≥ 8 GiB). Returns null when the
 * field is malformed, negative or beyond Number.MAX_SAFE_INTEGER.
 */
export function parseNumeric(buf: Buffer, off: number, len: number): number | null {
  const first = buf[off]!;
  if (first & 0x80) {
    if (first === 0xff) return null; // negative base-256
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + buf[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) return null;
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && buf[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  // Only NULs/spaces may follow the digits.
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c !== 0 && c !== 0x20) return null;
  }
  if (digits === 0) return 0;
  return v <= Number.MAX_SAFE_INTEGER ? v : null;
}

/** True when the 512 bytes at `off` are all zero (end-of-archive marker block). */
export function isZeroBlock(buf: Buffer, off: number): boolean {
  // A real header fails on its first byte (the name), so this loop is nearly free.
  for (let i = 0; i < BLOCK; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** Bytes needed to pad `size` to a whole number of blocks. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/**
 * One pax extended-header record, "<len> <key>=<value>\n", where <len> counts the whole record
 * including its own digits.
 */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + String(bodyLen).length;
  if (String(len).length !== String(len - bodyLen).length) len = bodyLen + String(len).length;
  return `${len}${body}`;
}
