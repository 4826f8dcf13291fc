import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { artifactStorageName, findMismatch, hashFile, MultiHasher, normalizeDigestList } from './hashing';

const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

describe('hashing helpers', () => {
  const data = Buffer.from('hello pith');

  it('MultiHasher computes every digest in one pass', () => {
    const h = new MultiHasher(['md5', 'sha256']);
    h.update(data.subarray(0, 3));
    h.update(data.subarray(3));
    expect(h.size).toBe(data.length);
    expect(h.digest()).toEqual({ md5: sha('md5', data), sha256: sha('sha256', data) });
  });

  it('hashFile streams a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hash-'));
    try {
      const f = path.join(dir, 'f');
      writeFileSync(f, data);
      expect(await hashFile(f, ['sha512'])).toEqual({ size: data.length, digests: { sha512: sha('sha512', data) } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('normalizes the digest list (canonical order, sha256 always present)', () => {
    expect(normalizeDigestList(['sha512', 'md5', 'bogus'])).toEqual(['md5', 'sha256', 'sha512']);
  });

  it('findMismatch checks size first, then the strongest digest', () => {
    const actual = { size: 10, digests: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) } };
    expect(findMismatch(actual, undefined)).toBeNull();
    expect(findMismatch(actual, { sha256: 'A'.repeat(64) })).toBeNull();
    expect(findMismatch(actual, { size: 11, sha256: 'c'.repeat(64) })?.field).toBe('size');
    expect(findMismatch(actual, { sha256: 'c'.repeat(64), sha512: 'c'.repeat(128) })).toMatchObject({
      field: 'sha512',
      message: 'The sha512 checksum did not match.',
    });
    expect(() => findMismatch(actual, { md5: 'x' })).toThrow(/not computed/);
  });

  it('builds content-addressed storage names', () => {
    const s = sha('sha256', data);
    expect(artifactStorageName(s)).toBe(`artifact/${s.slice(0, 2)}/${s.slice(2)}`);
    expect(() => artifactStorageName('../../etc')).toThrow();
  });
});
