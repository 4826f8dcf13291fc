import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

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

/**
 * Reads back a JSON-lines file written here, in batches of parsed lines (one batch per 1 MiB
 * read): flat memory whatever the file's size.
 */
export async function* readJsonLines<T>(file: string): AsyncGenerator<T[]> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    // The decoder keeps a UTF-8 sequence cut between two reads until it is complete.
    const decoder = new StringDecoder('utf8');
    let carry = '';
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const text = carry + decoder.write(buf.subarray(0, bytesRead));
      const end = text.lastIndexOf('\n');
      carry = text.slice(end + 1);
      if (end >= 0) yield text.slice(0, end).split('\n').map((l) => JSON.parse(l) as T);
    }
    carry += decoder.end();
    if (carry) yield [JSON.parse(carry) as T];
  } finally {
    await fh.close();
  }
}
