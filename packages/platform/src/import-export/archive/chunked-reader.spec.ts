import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { ArchiveError } from './archive-errors';
import { ChunkFiles, openChunks } from './chunked-reader';

async function collect(r: Readable): Promise<{ data: Buffer; reads: number }> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return { data: Buffer.concat(parts), reads: parts.length };
}

describe('openChunks', () => {
  let dir: string;
  let paths: string[];
  let parts: Buffer[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chunked-reader-'));
    parts = [randomBytes(3 * 1024 * 1024 + 5), Buffer.alloc(0), randomBytes(100), randomBytes(1024 * 1024)];
    paths = parts.map((p, i) => {
      const f = path.join(dir, `c${i}`);
      writeFileSync(f, p);
      return f;
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('streams the chunks one after the other, in 1 MiB reads', async () => {
    const { data, reads } = await collect(openChunks(paths, { expectedSizes: parts.map((p) => p.length) }));
    expect(data.equals(Buffer.concat(parts))).toBe(true);
    expect(reads).toBe(4 + 1 + 1); // 3 full + 5 bytes, (empty file), 100 bytes, 1 MiB
  });

  it('fails on a chunk whose size differs from the expected one', async () => {
    await expect(collect(openChunks(paths, { expectedSizes: [parts[0]!.length + 1, 0, 100, 1 << 20] }))).rejects.toThrow(
      `Export file ${paths[0]} has ${parts[0]!.length} bytes, expected ${parts[0]!.length + 1}.`,
    );
    await expect(collect(openChunks(paths, { expectedSizes: [parts[0]!.length, 0, 99, 1 << 20] }))).rejects.toThrow(ArchiveError);
  });

  it('refuses a missing chunk and a symlinked one', async () => {
    await expect(collect(openChunks([path.join(dir, 'nope')]))).rejects.toThrow(/cannot be opened \(ENOENT\)/);
    const link = path.join(dir, 'link');
    symlinkSync(paths[2]!, link);
    await expect(collect(openChunks([paths[2]!, link]))).rejects.toThrow(`Export file ${link} cannot be opened (it is a symbolic link).`);
  });

  it('can be destroyed midway', async () => {
    const r = openChunks(paths);
    for await (const _ of r) break;
    expect(r.destroyed).toBe(true);
  });
});

describe('ChunkFiles', () => {
  let dir: string;
  let paths: string[];
  let whole: Buffer;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chunk-files-'));
    const parts = [randomBytes(1000), Buffer.alloc(0), randomBytes(10), randomBytes(3000)];
    whole = Buffer.concat(parts);
    paths = parts.map((p, i) => {
      const f = path.join(dir, `c${i}`);
      writeFileSync(f, p);
      return f;
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads at any offset, never across a chunk boundary, and is empty at the end', async () => {
    const files = new ChunkFiles(paths);
    try {
      expect((await files.read(990, 100)).equals(whole.subarray(990, 1000))).toBe(true);
      expect((await files.read(1000, 100)).equals(whole.subarray(1000, 1010))).toBe(true);
      expect((await files.read(1500, 100)).equals(whole.subarray(1500, 1600))).toBe(true);
      expect((await files.read(200, 50)).equals(whole.subarray(200, 250))).toBe(true); // backwards too
      expect((await files.read(whole.length, 10)).length).toBe(0);
    } finally {
      await files.close();
    }
  });

  it('locates a range spanning chunks as positional ranges of their open files', async () => {
    const { readSync } = await import('node:fs');
    const files = new ChunkFiles(paths);
    try {
      const ranges = await files.locate(995, 20);
      expect(ranges.map((r) => [r.position, r.length])).toEqual([[995, 5], [0, 10], [0, 5]]);
      const got = Buffer.concat(ranges.map((r) => {
        const b = Buffer.alloc(r.length);
        readSync(r.fd, b, 0, r.length, r.position);
        return b;
      }));
      expect(got.equals(whole.subarray(995, 1015))).toBe(true);
      // Past the end: covers only what exists (the tar reader reports the truncation).
      expect((await files.locate(whole.length - 3, 10)).reduce((n, r) => n + r.length, 0)).toBe(3);
    } finally {
      await files.close();
    }
  });

  it('refuses a chunk that is a symbolic link', async () => {
    const link = path.join(dir, 'link');
    symlinkSync(paths[0]!, link);
    const files = new ChunkFiles([link]);
    await expect(files.read(0, 10)).rejects.toThrow(`Export file ${link} cannot be opened (it is a symbolic link).`);
    await files.close();
  });
});
