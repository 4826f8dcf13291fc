import { Readable } from 'node:stream';
import { TaskError } from '@pith/plugin-api';
import {
  countManifestEntries, formatManifestLine, manifestEntries, manifestLines, MAX_MANIFEST_LINE, parseManifestLine,
} from './file-manifest';

const SHA = 'a'.repeat(64);
const SHA2 = 'B'.repeat(64);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A stream delivering `text` in chunks of `size` bytes (splits lines and UTF-8 sequences anywhere). */
function chunked(text: string | Buffer, size: number): Readable {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function parseError(p: Promise<unknown>): Promise<TaskError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(TaskError);
  return e as TaskError;
}

describe('parseManifestLine', () => {
  it('parses path, digest (lowercased) and size', () => {
    expect(parseManifestLine(`dir/a.iso,${SHA2},1024`, 3)).toEqual({ relativePath: 'dir/a.iso', digest: 'b'.repeat(64), size: 1024, line: 3 });
  });

  it('skips blank lines and # comments, trims the line and fields', () => {
    expect(parseManifestLine('', 1)).toBeNull();
    expect(parseManifestLine('   \t', 1)).toBeNull();
    expect(parseManifestLine('# a comment', 1)).toBeNull();
    expect(parseManifestLine(`  a.txt , ${SHA} , 5  `, 1)).toMatchObject({ relativePath: 'a.txt', size: 5 });
    expect(parseManifestLine(`\ufeffa.txt,${SHA},5`, 1)).toMatchObject({ relativePath: 'a.txt' });
  });

  it('splits on the last two commas, so paths may contain commas', () => {
    expect(parseManifestLine(`a,b,c.txt,${SHA},7`, 1)).toMatchObject({ relativePath: 'a,b,c.txt', size: 7 });
  });

  it('accepts CSV-quoted paths', () => {
    expect(parseManifestLine(`"a, ""quoted"" name.txt",${SHA},1`, 1)).toMatchObject({ relativePath: 'a, "quoted" name.txt' });
    expect(parseManifestLine(`"#not-a-comment",${SHA},1`, 1)).toMatchObject({ relativePath: '#not-a-comment' });
  });

  it.each([
    ['too few fields', `a.txt,${SHA}`, 'three comma-separated fields'],
    ['a bad digest', 'a.txt,xyz,1', 'not a sha256'],
    ['a short digest', `a.txt,${SHA.slice(1)},1`, 'not a sha256'],
    ['a negative size', `a.txt,${SHA},-1`, 'not a size'],
    ['a fractional size', `a.txt,${SHA},1.5`, 'not a size'],
    ['an absolute path', `/etc/passwd,${SHA},1`, "cannot begin with '/'"],
    ['a .. segment', `a/../../etc/passwd,${SHA},1`, "'..'"],
    ['a . segment', `a/./b,${SHA},1`, "'.'"],
    ['an empty segment', `a//b,${SHA},1`, 'empty path segments'],
    ['a trailing slash', `a/,${SHA},1`, 'empty path segments'],
    ['an empty path', `,${SHA},1`, 'blank'],
    ['a malformed quoted path', `"a"b",${SHA},1`, 'quoted relative path'],
  ])('rejects %s with the line number', (_what, line, message) => {
    let err: unknown;
    try {
      parseManifestLine(line, 42);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskError);
    expect((err as Error).message).toContain('line 42');
    expect((err as Error).message).toContain(message);
  });
});

describe('manifestLines / manifestEntries', () => {
  const text = `a.txt,${SHA},1\r\n\r\n# comment\nsub/dir/ü.bin,${SHA2},22\n   \nlast.txt,${SHA},3`;

  it.each([1, 2, 3, 7, 1000])('parses CRLF, blank lines and a final line without newline (chunks of %i bytes)', async (size) => {
    const entries = await collect(manifestEntries(chunked(text, size)));
    expect(entries.map((e) => [e.relativePath, e.size, e.line])).toEqual([
      ['a.txt', 1, 1],
      ['sub/dir/ü.bin', 22, 4],
      ['last.txt', 3, 6],
    ]);
    expect(await countManifestEntries(chunked(text, size))).toBe(3);
  });

  it('names the failing line of a stream', async () => {
    const bad = `a.txt,${SHA},1\nb.txt,${SHA},1\nnonsense\n`;
    const e = await parseError(collect(manifestEntries(chunked(bad, 5))));
    expect(e.message).toContain('line 3');
  });

  it('rejects invalid UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from(`a.txt,${SHA},1\n`), Buffer.from([0x66, 0xff, 0x2c]), Buffer.from(`${SHA},1\n`)]);
    const e = await parseError(collect(manifestEntries(chunked(bytes, 4))));
    expect(e.message).toContain('line 2');
    expect(e.message).toContain('UTF-8');
  });

  it('rejects an over-long line without buffering it whole', async () => {
    async function* endless(): AsyncGenerator<Buffer> {
      const block = Buffer.alloc(16 * 1024, 0x61);
      for (let i = 0; i < 1_000_000; i++) yield block; // 16 GB if it were read to the end
    }
    const e = await parseError(collect(manifestLines(endless())));
    expect(e.message).toContain('line 1');
    expect(e.message).toContain('too long');
    expect(MAX_MANIFEST_LINE).toBeLessThan(1024 * 1024);
  });
});

describe('formatManifestLine', () => {
  it('writes bare paths (commas included), as Pulp reads them', () => {
    expect(formatManifestLine('a,b.txt', SHA, 3)).toBe(`a,b.txt,${SHA},3\n`);
  });

  it('round-trips paths that Pulp would otherwise alter', () => {
    for (const p of ['#hash', ' lead', 'trail ', '"q"uote', 'plain/ü.txt']) {
      const line = formatManifestLine(p, SHA, 9).trimEnd();
      expect(parseManifestLine(line, 1)).toMatchObject({ relativePath: p, digest: SHA, size: 9 });
    }
  });
});
