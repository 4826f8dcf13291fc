import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAhead } from './export-members';
import { JsonLinesFile, readJsonLines } from './json-lines-file';

describe('JSON-lines staging', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jsonl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what it wrote, across 1 MiB reads and multi-byte characters', async () => {
    const f = new JsonLinesFile(path.join(dir, 'a.jsonl'));
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ i, s: `ünïcødé ${'€'.repeat(i % 7)}` }));
    for (let i = 0; i < rows.length; i += 1000) await f.write(rows.slice(i, i + 1000));
    await f.close();
    const got: unknown[] = [];
    for await (const batch of readJsonLines(path.join(dir, 'a.jsonl'))) got.push(...batch);
    expect(got).toEqual(rows);
  });

  it('readAhead yields every batch in order and closes the source when stopped early', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 5; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const all: number[] = [];
    for await (const x of readAhead(source())) all.push(x);
    expect(all).toEqual([0, 1, 2, 3, 4]);
    closed = false;
    for await (const x of readAhead(source())) if (x === 1) break;
    expect(closed).toBe(true);
  });
});
