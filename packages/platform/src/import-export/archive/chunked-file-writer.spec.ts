import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chunkFileName, ChunkedFileWriter } from './chunked-file-writer';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `data` in uneven pieces, honouring back-pressure. */
async function feed(w: ChunkedFileWriter, data: Buffer, sizes = [37, 1, 4096, 999, 70_000, 3]): Promise<void> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = sizes[i++ % sizes.length]!;
    const piece = data.subarray(at, at + n);
    at += piece.length;
    if (!w.write(piece)) await new Promise((r) => w.once('drain', r));
  }
}

describe('ChunkedFileWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chunked-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one <base>.tar with its sha256 when chunkSize is null', async () => {
    const data = randomBytes(300_000);
    const w = new ChunkedFileWriter({ dir, base: 'export-1', chunkSize: null });
    await feed(w, data);
    const files = await w.finish();
    expect(files).toEqual([{ name: 'export-1.tar', path: path.join(dir, 'export-1.tar'), size: data.length, sha256: sha(data) }]);
    expect(readFileSync(path.join(dir, 'export-1.tar')).equals(data)).toBe(true);
    expect(readdirSync(dir)).toEqual(['export-1.tar']);
  });

  it('rotates exactly every chunkSize bytes into .0000, .0001, … with per-file sha256', async () => {
    const data = randomBytes(10_500);
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000, batchBytes: 3000 });
    await feed(w, data);
    const files = await w.finish();
    expect(files.map((f) => f.name)).toEqual(Array.from({ length: 11 }, (_, i) => `e.tar.${String(i).padStart(4, '0')}`));
    expect(files.map((f) => f.size)).toEqual([...Array(10).fill(1000), 500]);
    files.forEach((f, i) => {
      const part = data.subarray(i * 1000, (i + 1) * 1000);
      expect(readFileSync(f.path).equals(part)).toBe(true);
      expect(f.sha256).toBe(sha(part));
    });
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => f.name).sort());
  });

  it('does not leave an empty trailing chunk when the size is an exact multiple', async () => {
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 4096 });
    w.write(randomBytes(8192));
    const files = await w.finish();
    expect(files.map((f) => [f.name, f.size])).toEqual([
      ['e.tar.0000', 4096],
      ['e.tar.0001', 4096],
    ]);
  });

  it('produces one empty file when nothing was written', async () => {
    const files = await new ChunkedFileWriter({ dir, base: 'e', chunkSize: 10 }).finish();
    expect(files).toEqual([{ name: 'e.tar.0000', path: path.join(dir, 'e.tar.0000'), size: 0, sha256: sha(Buffer.alloc(0)) }]);
  });

  it('keeps files under temporary names until finish, then renames them', async () => {
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000 });
    await feed(w, randomBytes(2500));
    await new Promise((r) => setTimeout(r, 20));
    const during = readdirSync(dir).sort();
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((n) => n.startsWith('.') && n.endsWith('.partial'))).toBe(true);
    await w.finish();
    expect(readdirSync(dir).sort()).toEqual(['e.tar.0000', 'e.tar.0001', 'e.tar.0002']);
  });

  it('works as a pipeline destination', async () => {
    const parts = Array.from({ length: 50 }, () => randomBytes(10_000));
    const w = new ChunkedFileWriter({ dir, base: 'p', chunkSize: 65_536 });
    await pipeline(Readable.from(parts), w);
    const files = await w.finish();
    const all = Buffer.concat(files.map((f) => readFileSync(f.path)));
    expect(all.equals(Buffer.concat(parts))).toBe(true);
    expect(files).toHaveLength(Math.ceil(500_000 / 65_536));
  });

  it('abort() removes every file created so far and emits no error', async () => {
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000 });
    const errors: Error[] = [];
    w.on('error', (e) => errors.push(e));
    await feed(w, randomBytes(5500));
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(dir).length).toBeGreaterThan(1);
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
    expect(errors).toEqual([]);
    await expect(w.finish()).rejects.toThrow();
  });

  it('abort() after a successful finish removes the final files too', async () => {
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000 });
    await feed(w, randomBytes(2500));
    await w.finish();
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('on a write error removes its own files (but not a file it did not create) and fails finish()', async () => {
    // A file already sitting under the temp name of chunk 1: opening it (O_EXCL) fails mid-export.
    const planted = path.join(dir, '.e.tar.0001.partial');
    writeFileSync(planted, 'not ours');
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000 });
    const failed = new Promise<Error>((r) => w.once('error', r));
    w.write(randomBytes(1500));
    const err = await failed;
    expect((err as NodeJS.ErrnoException).code).toBe('EEXIST');
    await expect(w.finish()).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(dir)).toEqual(['.e.tar.0001.partial']);
    expect(readFileSync(planted, 'utf8')).toBe('not ours');
  });

  it('refuses to replace an existing export file and cleans up', async () => {
    writeFileSync(path.join(dir, 'e.tar.0001'), 'older export');
    const w = new ChunkedFileWriter({ dir, base: 'e', chunkSize: 1000 });
    w.on('error', () => undefined);
    await feed(w, randomBytes(1500));
    await expect(w.finish()).rejects.toThrow('Export file e.tar.0001 already exists');
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(dir)).toEqual(['e.tar.0001']);
    expect(readFileSync(path.join(dir, 'e.tar.0001'), 'utf8')).toBe('older export');
  });

  it('names chunks with at least 4 digits (5 from 10000 on)', () => {
    expect(chunkFileName('b', null)).toBe('b.tar');
    expect(chunkFileName('b', 0)).toBe('b.tar.0000');
    expect(chunkFileName('b', 9999)).toBe('b.tar.9999');
    expect(chunkFileName('b', 10000)).toBe('b.tar.10000');
  });

  it('rejects bad options', () => {
    expect(() => new ChunkedFileWriter({ dir, base: 'e', chunkSize: 0 })).toThrow(RangeError);
    expect(() => new ChunkedFileWriter({ dir, base: '../e', chunkSize: null })).toThrow(RangeError);
    expect(existsSync(path.join(dir, 'e.tar'))).toBe(false);
  });
});
