import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SharedBufferPool } from './buffer-pool';
import { ChunkedFileWriter } from './chunked-file-writer';
import { TarWriter, type TarFileEntry } from './tar-writer';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The export's fast path: pooled output buffers hashed on the hash thread, files in batches. */
describe('TarWriter with the ChunkedFileWriter pool', () => {
  let dir: string;
  let entries: TarFileEntry[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pooled-writer-'));
    mkdirSync(path.join(dir, 'src'));
    entries = [];
    // Small files (written in place), files of several buffers, an empty one, a long name (pax).
    const sizes = [0, 1, 511, 512, 4096, 3_000_000, 700, 1 << 20, 5000];
    sizes.forEach((n, i) => {
      const p = path.join(dir, 'src', `f${i}`);
      writeFileSync(p, randomBytes(n));
      entries.push({ name: i === 6 ? `artifact/${'x'.repeat(120)}` : `artifact/${i}`, path: p, size: n });
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function write(out: string, chunkSize: number | null, pooled: boolean) {
    mkdirSync(out);
    const writer = new ChunkedFileWriter({ dir: out, base: 'e', chunkSize });
    const tar = new TarWriter(writer, { mtime: new Date(0), ...(pooled ? { buffers: writer.buffers } : {}) });
    await tar.addBuffer('manifest.json', '{}');
    if (pooled) await tar.addFileBatches((async function* () {
      yield entries.slice(0, 4);
      yield entries.slice(4);
    })());
    else await tar.addFiles(entries);
    await tar.finish();
    return writer.finish();
  }

  it.each([null, 1_000_000])('writes the same bytes and correct digests as the plain path (chunkSize %p)', async (chunkSize) => {
    const plain = await write(path.join(dir, 'plain'), chunkSize, false);
    const pooled = await write(path.join(dir, 'pooled'), chunkSize, true);
    expect(pooled.map((f) => [f.name, f.size, f.sha256])).toEqual(plain.map((f) => [f.name, f.size, f.sha256]));
    for (const f of pooled) expect(sha(readFileSync(f.path))).toBe(f.sha256);
  });

  it('fails on a file of another size and leaves nothing behind', async () => {
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const writer = new ChunkedFileWriter({ dir: out, base: 'e', chunkSize: null });
    const tar = new TarWriter(writer, { buffers: writer.buffers });
    const wrong = [{ ...entries[4]!, size: 4095 }];
    await expect(tar.addFileBatches([wrong])).rejects.toThrow(/is not 4095 bytes long/);
    await writer.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it('the pool hands out each slot once until it is released', async () => {
    const pool = new SharedBufferPool(2, 1024);
    const a = pool.acquire() as Buffer;
    const b = pool.acquire() as Buffer;
    expect(pool.slotOf(a)).not.toBe(pool.slotOf(b));
    const waiting = pool.acquire();
    expect(waiting).toBeInstanceOf(Promise);
    pool.retain(pool.slotOf(a));
    pool.release(pool.slotOf(a));
    pool.release(pool.slotOf(a));
    expect(pool.slotOf(await waiting)).toBe(pool.slotOf(a));
    pool.close(new Error('gone'));
    await expect(pool.acquire()).rejects.toThrow('gone');
  });
});
