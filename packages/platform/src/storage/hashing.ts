import { createHash, type Hash } from 'node:crypto';

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
