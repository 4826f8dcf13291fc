import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ArtifactStorageService } from '../storage/artifact-storage.service';
import { ReceivePool } from '../sync/receive-pool';
import { ChunkFiles, readTar, TarWriter, ChunkedFileWriter } from './archive';
import { BlobWriter } from './blob-writer';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('BlobWriter', () => {
  let dir: string;
  let pool: ReceivePool;
  let n = 0;
  // Only what BlobWriter uses of the storage: temp paths and the digests to compute.
  const storage = () => ({ digests: ['sha256', 'sha512'], tempPath: () => path.join(dir, 'tmp', `t${n++}`) }) as unknown as ArtifactStorageService;

  beforeAll(() => (pool = new ReceivePool(2)));
  afterAll(() => pool.close());
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'blob-writer-'));
    mkdirSync(path.join(dir, 'tmp'));
    mkdirSync(path.join(dir, 'stored'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A chunked tar of `bodies` (members b0, b1, …); returns its chunk paths. */
  async function archive(bodies: Buffer[]): Promise<string[]> {
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const w = new ChunkedFileWriter({ dir: out, base: 'x', chunkSize: 200_000 });
    const tar = new TarWriter(w);
    for (const [i, b] of bodies.entries()) await tar.addBuffer(`b${i}`, b);
    await tar.finish();
    return (await w.finish()).map((f) => path.join(out, f.name));
  }

  it('writes every body through the workers with its digests, and deletes a file its handler refuses', async () => {
    const bodies = Array.from({ length: 30 }, (_, i) => randomBytes(i === 7 ? 700_000 : (i * 4099) % 9000));
    const files = new ChunkFiles(await archive(bodies));
    const writer = new BlobWriter(pool, storage());
    const got = new Map<string, string>();
    try {
      let i = 0;
      for await (const e of readTar(files, { maxEntries: 100, maxEntryBytes: 1 << 30, maxTotalBytes: 1 << 30 })) {
        const k = i++;
        await writer.write(e, e.name, async (f) => {
          expect(f.size).toBe(bodies[k]!.length);
          expect(f.digests.sha512).toBe(createHash('sha512').update(bodies[k]!).digest('hex'));
          if (k === 3) throw new Error('refused');
          renameSync(f.path, path.join(dir, 'stored', e.name)); // "stored"
          got.set(e.name, f.digests.sha256!);
        });
      }
      await expect(writer.finished()).rejects.toThrow('refused');
    } finally {
      await files.close();
    }
    expect(got.size).toBe(29);
    for (const [name, digest] of got) expect(digest).toBe(sha(bodies[Number(name.slice(1))]!));
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]); // the refused one is gone too
  });

  it('cleans up the temp file of a body the worker cannot read', async () => {
    const body = randomBytes(5000);
    const src = path.join(dir, 'src');
    writeFileSync(src, body);
    const writer = new BlobWriter(pool, storage());
    // A range past the end of its file: the worker fails and deletes what it wrote.
    const files = new ChunkFiles([src]);
    const ranges = await files.locate(0, 5000);
    const entry = { name: 'x', size: 6000, ranges: async () => [{ ...ranges[0]!, length: 6000 }] } as never;
    try {
      await writer.write(entry, 'x', async () => undefined);
      await expect(writer.finished()).rejects.toThrow('Writing artifact x failed: the source file ended early');
    } finally {
      await files.close();
    }
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });
});
