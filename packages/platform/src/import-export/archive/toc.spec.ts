import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { ArchiveError } from './archive-errors';
import { ChunkedFileWriter, type WrittenFile } from './chunked-file-writer';
import { readToc, verifyChunks, writeToc, type VerifyProgress } from './toc';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const H = 'a'.repeat(64);

describe('TOC', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'toc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function makeChunks(total: number, chunkSize: number | null, base = 'export-1'): Promise<{ files: WrittenFile[]; data: Buffer }> {
    const data = randomBytes(total);
    const w = new ChunkedFileWriter({ dir, base, chunkSize });
    w.write(data);
    return { files: await w.finish(), data };
  }
  const tocFile = (doc: unknown, name = 'x-toc.json'): string => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return p;
  };
  const pith = (files: Record<string, string>, sizes: Record<string, number>, chunkSize: number | null, extra: object = {}): object => ({
    format: 'pith-export',
    format_version: 1,
    checksum_type: 'sha256',
    chunk_size: chunkSize,
    meta: {},
    files,
    sizes,
    ...extra,
  });
  const rejects = async (doc: unknown, message: string | RegExp, opts?: { maxBytes?: number }): Promise<void> => {
    const p = tocFile(doc);
    await expect(readToc(p, opts)).rejects.toThrow(ArchiveError);
    await expect(readToc(p, opts)).rejects.toThrow(message);
  };

  it('writes the Pith TOC next to the chunks and reads it back', async () => {
    const { files } = await makeChunks(2500, 1000);
    const w = await writeToc(dir, 'export-1', { chunkSize: 1000, meta: { ticket: 42 }, files, manifest: { format: 1, repositories: [] } });
    expect(w.path).toBe(path.join(dir, 'export-1-toc.json'));
    const text = readFileSync(w.path);
    expect(w.sha256).toBe(sha(text));
    expect(Object.keys(JSON.parse(text.toString()))).toEqual(['format', 'format_version', 'checksum_type', 'chunk_size', 'meta', 'files', 'sizes', 'manifest']);
    expect(JSON.parse(text.toString())).toEqual({
      format: 'pith-export',
      format_version: 1,
      checksum_type: 'sha256',
      chunk_size: 1000,
      meta: { ticket: 42 },
      files: Object.fromEntries(files.map((f) => [f.name, f.sha256])),
      sizes: { 'export-1.tar.0000': 1000, 'export-1.tar.0001': 1000, 'export-1.tar.0002': 500 },
      manifest: { format: 1, repositories: [] },
    });
    expect(readdirSync(dir).filter((n) => n.includes('partial'))).toEqual([]);

    const toc = await readToc(w.path);
    expect(toc).toMatchObject({ format: 'pith', checksumType: 'sha256', chunkSize: 1000, base: 'export-1', meta: { ticket: 42 }, sha256: w.sha256, dir });
    expect(toc.manifest).toEqual({ format: 1, repositories: [] });
    expect(toc.chunks).toEqual(files.map((f, i) => ({ name: f.name, path: f.path, index: i, size: f.size, checksum: f.sha256 })));
    const v = await verifyChunks(toc);
    expect(v.totalBytes).toBe(2500);
    expect(v.chunks.map((c) => c.size)).toEqual([1000, 1000, 500]);
  });

  it('writes an unchunked TOC and refuses to replace an existing one', async () => {
    const { files } = await makeChunks(10, null);
    const w = await writeToc(dir, 'export-1', { chunkSize: null, files, manifest: {} });
    const toc = await readToc(w.path);
    expect(toc.chunks).toEqual([{ name: 'export-1.tar', path: path.join(dir, 'export-1.tar'), index: null, size: 10, checksum: files[0]!.sha256 }]);
    await expect(writeToc(dir, 'export-1', { chunkSize: null, files, manifest: {} })).rejects.toThrow('Export TOC export-1-toc.json already exists');
    await expect(writeToc(dir, 'export-2', { chunkSize: 5, files, manifest: {} })).rejects.toThrow('chunk_size must be null');
    expect(readdirSync(dir).sort()).toEqual(['export-1-toc.json', 'export-1.tar']);
  });

  it('orders chunks numerically, past .9999', async () => {
    const names = Array.from({ length: 10_002 }, (_, i) => `b.tar.${String(i).padStart(4, '0')}`);
    const files = Object.fromEntries([...names].sort().map((n) => [n, H]));
    const sizes = Object.fromEntries(names.map((n) => [n, 1]));
    const toc = await readToc(tocFile(pith(files, sizes, 1)));
    expect(toc.chunks.map((c) => c.name).slice(9998, 10_002)).toEqual(['b.tar.9998', 'b.tar.9999', 'b.tar.10000', 'b.tar.10001']);
    expect(toc.chunks.every((c) => path.dirname(c.path) === dir)).toBe(true);
  });

  describe('rejects', () => {
    it('non-JSON, too large, not an object, missing or empty files', async () => {
      await rejects('{"files":', /^TOC file x-toc.json is not valid JSON: /);
      await rejects(pith({ 'b.tar': H }, { 'b.tar': 1 }, null), 'TOC file x-toc.json is too large (', { maxBytes: 50 });
      await rejects([1], 'TOC file x-toc.json: expected a JSON object.');
      await rejects(pith(undefined as never, {}, null), '"files" is missing or not an object.');
      await rejects(pith({}, {}, null), '"files" is empty.');
      await rejects({ files: { 'b.tar': '1' } }, 'neither a Pith nor a Pulp export TOC');
    });

    it('a missing TOC or one that is a directory', async () => {
      await expect(readToc(path.join(dir, 'nope.json'))).rejects.toThrow(`TOC file ${path.join(dir, 'nope.json')} does not exist.`);
      mkdirSync(path.join(dir, 'd-toc.json'));
      await expect(readToc(path.join(dir, 'd-toc.json'))).rejects.toThrow('is not a regular file');
    });

    it.each(['../b.tar', 'sub/b.tar', '/abs/b.tar', 'a\\b.tar', 'b\0.tar', '.', '..', ''])('file name %p', async (name) => {
      await rejects(pith({ [name]: H }, { [name]: 1 }, null), `file name ${JSON.stringify(name)} is not a plain file name.`);
    });

    it.each([['A'.repeat(64)], ['a'.repeat(63)], ['g'.repeat(64)], [42]])('sha256 %p', async (digest) => {
      await rejects(pith({ 'b.tar': digest as string }, { 'b.tar': 1 }, null), 'the sha256 of "b.tar" is not 64 lowercase hex digits.');
    });

    it.each([
      [['b.tar.0000', 'b.tar.0002'], 'chunk b.tar.0001 is missing from the list'],
      [['b.tar.0001'], 'chunk b.tar.0000 is missing from the list'],
      [['b.tar', 'b.tar.0000'], 'an unchunked <base>.tar cannot be listed together with other files.'],
      [['b.tar.0000', 'c.tar.0001'], 'files belong to different exports ("b" and "c").'],
      [['b.tar.000'], 'chunk suffix of "b.tar.000" must be its index zero-padded to 4 digits.'],
      [['b.tar.00000'], 'chunk suffix of "b.tar.00000" must be its index zero-padded to 4 digits.'],
      [['b.tar.gz'], '"b.tar.gz" is not named <base>.tar or <base>.tar.NNNN.'],
      [['b.tar.0000', 'b-toc.json'], '"b-toc.json" is not named <base>.tar or <base>.tar.NNNN.'],
    ])('chunk list %p', async (names, message) => {
      const files = Object.fromEntries(names.map((n) => [n, H]));
      const sizes = Object.fromEntries(names.map((n) => [n, 1]));
      await rejects(pith(files, sizes, names[0]!.endsWith('.tar') ? null : 1), message);
    });

    it('bad Pith fields', async () => {
      const ok = pith({ 'b.tar': H }, { 'b.tar': 1 }, null);
      await rejects({ ...ok, format: 'other' }, 'unknown format "other"');
      await rejects({ ...ok, format_version: 2 }, 'format_version 2 is not supported (this version reads 1).');
      await rejects({ ...ok, checksum_type: 'md5' }, 'checksum_type must be "sha256".');
      await rejects({ ...ok, extra: 1 }, 'unknown field "extra".');
      await rejects({ ...ok, meta: [] }, '"meta" must be an object.');
      await rejects({ ...ok, manifest: 'x' }, '"manifest" must be an object.');
      await rejects({ ...ok, sizes: {} }, '"sizes" has no valid size for "b.tar".');
      await rejects({ ...ok, sizes: { 'b.tar': -1 } }, '"sizes" has no valid size for "b.tar".');
      await rejects({ ...ok, sizes: { 'b.tar': 1, 'c.tar': 1 } }, '"sizes" lists "c.tar" which is not in "files".');
      await rejects({ ...ok, chunk_size: 0 }, 'chunk_size must be null or a positive number of bytes.');
      await rejects({ ...ok, chunk_size: 10 }, 'chunk_size must be null for an unchunked export.');
      const chunked = pith({ 'b.tar.0000': H, 'b.tar.0001': H }, { 'b.tar.0000': 10, 'b.tar.0001': 3 }, null);
      await rejects(chunked, 'chunk_size must be set for a chunked export.');
      await rejects({ ...chunked, chunk_size: 11 }, 'size of b.tar.0000 (10) does not agree with chunk_size 11.');
    });
  });

  describe('Pulp TOCs', () => {
    /** A Pulp-style crc32: zlib crc32, hex, not zero-padded (`hex(v)[2:]`). */
    const pulpCrc = (b: Buffer): string => crc32(b).toString(16);

    it('reads crc32 TOCs (unpadded hex) and verifies the chunks', async () => {
      // Find data whose crc32 has a leading zero nibble, so the unpadded form is < 8 digits.
      let data = randomBytes(3000);
      while (pulpCrc(data).length === 8) data = randomBytes(3000);
      const w = new ChunkedFileWriter({ dir, base: 'export-0190-20240101_1200', chunkSize: 1024 });
      w.write(data);
      const files = await w.finish();
      const crcs = files.map((f) => pulpCrc(readFileSync(f.path)));
      // Python renders it the same way as Pulp: hex(zlib.crc32(...))[2:]
      const py = execFileSync('python3', ['-c', 'import sys,zlib; print(hex(zlib.crc32(open(sys.argv[1],"rb").read()))[2:])', files[0]!.path]);
      expect(py.toString().trim()).toBe(crcs[0]);
      const doc = { meta: { checksum_type: 'crc32', chunk_size: 1024, purpose: 'x' }, files: Object.fromEntries(files.map((f, i) => [f.name, crcs[i]])) };
      const toc = await readToc(tocFile(doc, 'export-0190-20240101_1200-toc.json'));
      expect(toc).toMatchObject({ format: 'pulp', checksumType: 'crc32', chunkSize: 1024, base: 'export-0190-20240101_1200', manifest: undefined });
      expect(toc.chunks.map((c) => c.size)).toEqual([null, null, null]);
      expect((await verifyChunks(toc)).chunks.map((c) => c.size)).toEqual([1024, 1024, 952]);
      expect(crcs.some((c) => c.length < 8) || pulpCrc(data).length < 8).toBe(true);

      writeFileSync(files[1]!.path, randomBytes(1024));
      await expect(verifyChunks(toc)).rejects.toThrow(/export-0190-20240101_1200\.tar\.0001: crc32 mismatch \(expected [0-9a-f]+, got [0-9a-f]+\)/);
    });

    it('reads legacy sha256 TOCs and rejects unsupported checksum types', async () => {
      const { files } = await makeChunks(100, null, 'old');
      const toc = await readToc(tocFile({ meta: { checksum_type: 'sha256', file: 'old.tar', global_hash: 'x' }, files: { 'old.tar': files[0]!.sha256 } }));
      expect(toc.checksumType).toBe('sha256');
      await verifyChunks(toc);
      await rejects({ meta: { checksum_type: 'md5' }, files: { 'old.tar': 'x' } }, 'meta.checksum_type "md5" is not supported');
      await rejects({ meta: { checksum_type: 'crc32' }, files: { 'old.tar': 'xyz' } }, 'the crc32 of "old.tar" is not 1 to 8 lowercase hex digits.');
      await rejects({ meta: { checksum_type: 'crc32' }, files: { 'old.tar.0000': 'a', 'old.tar.0001': 'b' } }, 'meta.chunk_size is required when there is more than one chunk.');
    });
  });

  describe('verifyChunks', () => {
    it('collects every problem before failing', async () => {
      const { files } = await makeChunks(6000, 1000, 'e');
      const toc = await readToc((await writeToc(dir, 'e', { chunkSize: 1000, files, manifest: {} })).path);
      rmSync(files[0]!.path); // missing
      writeFileSync(files[1]!.path, randomBytes(1000)); // corrupt, same size
      truncateSync(files[2]!.path, 999); // wrong size
      rmSync(files[3]!.path);
      symlinkSync(files[4]!.path, files[3]!.path); // symlink to a real chunk
      rmSync(files[5]!.path);
      mkdirSync(files[5]!.path); // a directory
      let err: ArchiveError | undefined;
      try {
        await verifyChunks(toc);
      } catch (e) {
        err = e as ArchiveError;
      }
      expect(err).toBeInstanceOf(ArchiveError);
      expect(err!.problems).toEqual([
        'e.tar.0000: missing',
        'e.tar.0002: size is 999 bytes, the TOC says 1000',
        'e.tar.0003: is a symbolic link, not a regular file',
        'e.tar.0005: is not a regular file',
        expect.stringMatching(/^e\.tar\.0001: sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)$/),
      ]);
      expect(err!.message).toMatch(/^Export files listed in e-toc.json failed verification \(5 problems\): e\.tar\.0000: missing; /);
    });

    it('reports progress and stops when the signal is aborted', async () => {
      const { files } = await makeChunks(3 * 1024 * 1024, 1024 * 1024, 'p');
      const toc = await readToc((await writeToc(dir, 'p', { chunkSize: 1024 * 1024, files, manifest: {} })).path);
      const seen: VerifyProgress[] = [];
      await verifyChunks(toc, { onProgress: (p) => seen.push(p) });
      expect(seen.at(-1)).toEqual({ filesDone: 3, filesTotal: 3, bytesDone: 3 * 1024 * 1024, bytesTotal: 3 * 1024 * 1024 });
      const ac = new AbortController();
      ac.abort(new Error('cancelled'));
      await expect(verifyChunks(toc, { signal: ac.signal })).rejects.toThrow('cancelled');
    });
  });
});
