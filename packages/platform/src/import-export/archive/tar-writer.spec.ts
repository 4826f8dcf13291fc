import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { ArchiveError } from './archive-errors';
import { ChunkedFileWriter } from './chunked-file-writer';
import { TarWriter } from './tar-writer';

/** Collects everything written, slowly, with a tiny highWaterMark (exercises back-pressure). */
class SlowSink extends Writable {
  parts: Buffer[] = [];
  maxBuffered = 0;
  constructor() {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    this.parts.push(chunk);
    setTimeout(cb, 1);
  }
  get data(): Buffer {
    return Buffer.concat(this.parts);
  }
}

describe('TarWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tar-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an archive GNU tar lists and extracts byte for byte (small, empty, long-named, unicode and 5 MiB members)', async () => {
    const src = path.join(dir, 'src');
    mkdirSync(src);
    const expected = new Map<string, Buffer>();
    const entries: Array<{ name: string; path: string; size: number }> = [];
    const longName = `repository-${'r'.repeat(90)}_3/${'deep/'.repeat(20)}pulp_file.FileContentResource.jsonl`;
    const specs: Array<[string, number]> = [
      ['empty', 0],
      ['artifact/ab/' + 'c'.repeat(62), 4096],
      [longName, 777],
      ['ünïcødé/名前.txt', 10],
      ['big/five-mib.bin', 5 * 1024 * 1024 + 3],
      ['exactly-one-block', 512],
    ];
    for (let i = 0; i < 400; i++) specs.push([`artifact/${(i % 256).toString(16).padStart(2, '0')}/f${i}`, (i * 97) % 9000]);
    specs.forEach(([name, size], i) => {
      const data = randomBytes(size);
      const p = path.join(src, `file-${i}`);
      writeFileSync(p, data);
      expected.set(name, data);
      entries.push({ name, path: p, size });
    });

    const out = new ChunkedFileWriter({ dir, base: 'out', chunkSize: null });
    const tar = new TarWriter(out, { mtime: new Date('2024-05-06T07:08:09Z'), sliceMs: 1 });
    await tar.addBuffer('manifest.json', Buffer.from('{"a":1}'));
    await tar.addFiles(
      (async function* () {
        yield* entries.slice(0, 3);
      })(),
    );
    await tar.addStream('streamed.bin', 100_000, Readable.from([randomBytes(1), randomBytes(99_999)].map((b) => b)));
    await tar.addFiles(entries.slice(3));
    await tar.finish();
    const [file] = await out.finish();
    const archive = readFileSync(file!.path);
    expect(archive.length % 512).toBe(0);
    expect(archive.subarray(-1024).equals(Buffer.alloc(1024))).toBe(true);
    expect(tar.bytesWritten).toBe(archive.length);
    expect(tar.entryCount).toBe(entries.length + 2);

    const listing = execFileSync('tar', ['-tvf', file!.path, '--numeric-owner', '--full-time', '--utc'], { maxBuffer: 1 << 26 })
      .toString()
      .trimEnd()
      .split('\n');
    const names = execFileSync('tar', ['-tf', file!.path], { maxBuffer: 1 << 26 }).toString().trimEnd().split('\n');
    expect(names).toEqual(['manifest.json', ...entries.slice(0, 3).map((e) => e.name), 'streamed.bin', ...entries.slice(3).map((e) => e.name)]);
    for (const line of listing) {
      expect(line).toMatch(/^-rw-r--r-- 0\/0 +\d+ 2024-05-06 07:08:09 /);
    }
    const x = path.join(dir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xf', file!.path, '-C', x]);
    for (const [name, data] of expected) expect(readFileSync(path.join(x, name)).equals(data)).toBe(true);
    expect(readFileSync(path.join(x, 'manifest.json'), 'utf8')).toBe('{"a":1}');
    expect(readFileSync(path.join(x, 'streamed.bin')).length).toBe(100_000);
  });

  it('honours back-pressure of a slow sink', async () => {
    const sink = new SlowSink();
    const tar = new TarWriter(sink, { batchBytes: 4096 });
    const data = randomBytes(200_000);
    await tar.addBuffer('a', data);
    await tar.finish();
    await new Promise<void>((r) => sink.end(r));
    expect(sink.maxBuffered).toBeLessThanOrEqual(4096);
    const x = path.join(dir, 'slow.tar');
    writeFileSync(x, sink.data);
    expect(execFileSync('tar', ['-xOf', x, 'a']).equals(data)).toBe(true);
  });

  it('carries sizes of 8 GiB and more in a pax header', async () => {
    const size = 8 * 2 ** 30 + 1;
    // The source ends early so the member fails, but its headers are already out (batchBytes 2048).
    const sink2 = new SlowSink();
    const t2 = new TarWriter(sink2, { batchBytes: 2048 });
    await expect(t2.addStream('huge.bin', size, Readable.from([Buffer.alloc(4096)]))).rejects.toThrow(/produced 4096 bytes, expected 8589934593/);
    await new Promise((r) => setTimeout(r, 50));
    const out = sink2.data;
    expect(String.fromCharCode(out[156]!)).toBe('x');
    expect(out.subarray(512, 1024).toString('latin1')).toContain(`size=${size}\n`);
    expect(out.subarray(1024, 1024 + 8).toString()).toBe('huge.bin');
  });

  it('fails when a file is not the announced size, and refuses further calls', async () => {
    const p = path.join(dir, 'f');
    writeFileSync(p, randomBytes(1000));
    const sink = new SlowSink();
    const t1 = new TarWriter(sink);
    await expect(t1.addFile('f', p, 1001)).rejects.toThrow(/is not 1001 bytes long/);
    await expect(t1.addFile('g', p, 1000)).rejects.toThrow(/failed earlier/);
    const t2 = new TarWriter(new SlowSink());
    await expect(t2.addFile('f', p, 999)).rejects.toThrow(/is not 999 bytes long/);
    const t3 = new TarWriter(new SlowSink());
    await expect(t3.addFile('f', path.join(dir, 'missing'), 1)).rejects.toThrow(/Cannot read .*missing.*ENOENT/);
    // Exactly at a buffer boundary the growth check needs its own read.
    const t4 = new TarWriter(new SlowSink(), { batchBytes: 2048 });
    writeFileSync(p, randomBytes(2048 - 512 + 1));
    await expect(t4.addFile('f', p, 2048 - 512)).rejects.toThrow(/is not 1536 bytes long/);
  });

  it('rejects member names that are not normalised relative paths', async () => {
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', './a', 'a/', '', 'a\\b', 'nul\0']) {
      const t = new TarWriter(new SlowSink());
      await expect(t.addBuffer(bad, Buffer.alloc(1))).rejects.toThrow(ArchiveError);
    }
  });

  it('checks the stream length of addStream', async () => {
    const t = new TarWriter(new SlowSink());
    await expect(t.addStream('s', 5, Readable.from([Buffer.alloc(6)]))).rejects.toThrow(/more than 5 bytes/);
  });

  it('stops at an aborted signal', async () => {
    const ac = new AbortController();
    const p = path.join(dir, 'f');
    writeFileSync(p, 'x');
    const t = new TarWriter(new SlowSink(), { signal: ac.signal });
    await t.addFile('a', p, 1);
    ac.abort(new Error('cancelled'));
    await expect(t.addFiles([{ name: 'b', path: p, size: 1 }])).rejects.toThrow('cancelled');
  });
});
