import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

/** Writes JSON lines to a file with back-pressure, hashing and counting as it goes. */
export class JsonLinesFile {
  private readonly hash = createHash('sha256');
  private readonly out: WriteStream;
  rows = 0;
  size = 0;

  constructor(readonly file: string) {
    this.out = createWriteStream(file, { highWaterMark: 1 << 20 });
  }

  async write(rows: unknown[]): Promise<void> {
    if (!rows.length) return;
    const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const buf = Buffer.from(text, 'utf8');
    this.hash.update(buf);
    this.size += buf.length;
    this.rows += rows.length;
    if (!this.out.write(buf)) await once(this.out, 'drain');
  }

  async close(): Promise<string> {
    this.out.end();
    await once(this.out, 'finish');
    return this.hash.digest('hex');
  }

  destroy(): void {
    this.out.destroy();
  }
}
