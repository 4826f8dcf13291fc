import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ReceivePool, ReceiveWorkerError } from './receive-pool';

const ALGS = ['sha256', 'sha512'] as const;
const digest = (a: string, b: Buffer) => createHash(a).update(b).digest('hex');

describe('ReceivePool', () => {
  let dir: string;
  let pool: ReceivePool;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pith-receive-'));
    pool = new ReceivePool(2);
  });
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes and hashes many small files handed over whole, in groups', async () => {
    const files = Array.from({ length: 200 }, (_, i) => randomBytes(i * 37));
    const got = await Promise.all(files.map((f, i) => {
      const s = pool.session(path.join(dir, `small-${i}`), ALGS);
      // Several chunks per file, like a socket delivers them.
      return s.finish([f.subarray(0, 10), f.subarray(10)], f.length);
    }));
    got.forEach((r, i) => {
      expect(r.size).toBe(files[i]!.length);
      expect(r.digests).toEqual({ sha256: digest('sha256', files[i]!), sha512: digest('sha512', files[i]!) });
      expect(readFileSync(path.join(dir, `small-${i}`)).equals(files[i]!)).toBe(true);
    });
  });

  it('streams large files with back-pressure', async () => {
    const data = randomBytes(12 << 20);
    const s = pool.session(path.join(dir, 'large'), ALGS);
    for (let off = 0; off < data.length; off += 1 << 20) {
      s.write([data.subarray(off, off + (1 << 20))], 1 << 20);
      await s.drain();
      expect(s.backlog).toBeLessThanOrEqual(4 << 20);
    }
    const r = await s.finish([], 0);
    expect(r).toEqual({ size: data.length, digests: { sha256: digest('sha256', data), sha512: digest('sha512', data) } });
  });

  it('discards files, and reports write failures with their code', async () => {
    const s = pool.session(path.join(dir, 'gone'), ALGS);
    s.write([randomBytes(1000)], 1000);
    await s.discard();
    expect(existsSync(path.join(dir, 'gone'))).toBe(false);

    const done = pool.session(path.join(dir, 'done-then-gone'), ALGS);
    await done.finish([randomBytes(10)], 10);
    await done.discard();
    expect(existsSync(path.join(dir, 'done-then-gone'))).toBe(false);

    const bad = pool.session(path.join(dir, 'no-such-dir', 'x'), ALGS);
    const e = await bad.finish([randomBytes(10)], 10).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReceiveWorkerError);
    expect((e as ReceiveWorkerError).code).toBe('ENOENT');
    const streamed = pool.session(path.join(dir, 'no-such-dir', 'y'), ALGS);
    streamed.write([randomBytes(10)], 10);
    await expect(streamed.finish([], 0)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('copies ranges of open files into files, hashing them; a failed copy leaves no file', async () => {
    const src = randomBytes(3 << 20);
    writeFileSync(path.join(dir, 'src'), src);
    const fd = openSync(path.join(dir, 'src'), 'r');
    try {
      const [a, b] = pool.copy([
        { path: path.join(dir, 'copy-a'), ranges: [{ fd, position: 10, length: 100 }] },
        // Several ranges make one file (a body spread over two chunks), larger than a read.
        { path: path.join(dir, 'copy-b'), ranges: [{ fd, position: 0, length: 5 }, { fd, position: 1000, length: 2 << 20 }] },
      ], ALGS);
      const wantB = Buffer.concat([src.subarray(0, 5), src.subarray(1000, 1000 + (2 << 20))]);
      expect(await a).toEqual({ size: 100, digests: { sha256: digest('sha256', src.subarray(10, 110)), sha512: digest('sha512', src.subarray(10, 110)) } });
      expect(await b).toEqual({ size: wantB.length, digests: { sha256: digest('sha256', wantB), sha512: digest('sha512', wantB) } });
      expect(readFileSync(path.join(dir, 'copy-b')).equals(wantB)).toBe(true);

      const [past] = pool.copy([{ path: path.join(dir, 'copy-past'), ranges: [{ fd, position: src.length - 5, length: 10 }] }], ALGS);
      await expect(past).rejects.toThrow('the source file ended early');
      expect(existsSync(path.join(dir, 'copy-past'))).toBe(false);
    } finally {
      closeSync(fd);
    }
  });
});
