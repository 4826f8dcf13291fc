import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const ALL_DIGESTS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type DigestName = (typeof ALL_DIGESTS)[number];
export type Digests = Partial<Record<DigestName, string>>;

/** Feeds every chunk to several hashes at once so a stream is read (and hashed) only once. */
export class MultiHasher {
  private readonly hashes: Array<[DigestName, Hash]>;
  size = 0;

  constructor(algorithms: readonly DigestName[]) {
    this.hashes = algorithms.map((a) => [a, createHash(a)]);
  }

  update(chunk: Buffer): void {
    this.size += chunk.length;
    for (const [, h] of this.hashes) h.update(chunk);
  }

  digest(): Digests {
    const out: Digests = {};
    for (const [name, h] of this.hashes) out[name] = h.digest('hex');
    return out;
  }
}

/** Expected properties of a file about to be stored; any subset may be given. */
export type ExpectedFile = Digests & { size?: number };

const HEX_LENGTH: Record<DigestName, number> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

/** Hex length of each digest (for validating user input). */
export function digestHexLength(name: DigestName): number {
  return HEX_LENGTH[name];
}

export function isDigestName(name: string): name is DigestName {
  return (ALL_DIGESTS as readonly string[]).includes(name);
}

/** The configured digests in canonical (weakest → strongest) order; sha256 is always included. */
export function normalizeDigestList(names: readonly string[]): DigestName[] {
  const set = new Set(names);
  set.add('sha256');
  return ALL_DIGESTS.filter((d) => set.has(d));
}

/** Streams a file once through every requested hash. Large reads keep syscall overhead low. */
export async function hashFile(path: string, algorithms: readonly DigestName[]): Promise<{ size: number; digests: Digests }> {
  const hasher = new MultiHasher(algorithms);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  return { size: hasher.size, digests: hasher.digest() };
}

/**
 * First mismatch between what was received and what was expected, strongest digest first (so
 * the message names the most meaningful one), size before digests; null when everything matches.
 */
export function findMismatch(
  actual: { size: number; digests: Digests },
  expected: ExpectedFile | undefined,
): { field: string; message: string; expected: string | number; actual: string | number } | null {
  if (!expected) return null;
  if (expected.size !== undefined && expected.size !== null && Number(expected.size) !== actual.size) {
    return { field: 'size', message: 'The size did not match actual size of file.', expected: Number(expected.size), actual: actual.size };
  }
  for (const name of [...ALL_DIGESTS].reverse()) {
    const want = expected[name];
    if (want === undefined || want === null || want === '') continue;
    const got = actual.digests[name];
    if (got === undefined) throw new Error(`digest ${name} was not computed`);
    if (got !== want.toLowerCase()) {
      return { field: name, message: `The ${name} checksum did not match.`, expected: want.toLowerCase(), actual: got };
    }
  }
  return null;
}

/** Content-addressed storage name: `artifact/<sha256[0:2]>/<sha256[2:]>`. */
export function artifactStorageName(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
  return `artifact/${sha256.slice(0, 2)}/${sha256.slice(2)}`;
}
