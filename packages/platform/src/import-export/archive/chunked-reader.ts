import { constants as fsc } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ArchiveError } from './archive-errors';

const READ_SIZE = 1 << 20;

/**
 * One byte stream over the chunks of an export, read in place one after the other: no
 * reassembly copy and no temp files, so importing from read-only media works and a failed import
 * can simply be retried (Pulp used to concatenate and delete chunks, #3737). Reads are 1 MiB;
 * each file is opened with O_NOFOLLOW (a chunk replaced by a symlink after verification is
 * refused). `expectedSizes`, when given, makes a chunk that is shorter or longer than listed an
 * error instead of silently shifting every following byte.
 */
export function openChunks(paths: readonly string[], opts: { expectedSizes?: ReadonlyArray<number | null> } = {}): Readable {
  let index = 0;
  let fh: FileHandle | null = null;
  let readInFile = 0;

  const closeCurrent = async (): Promise<void> => {
    const h = fh;
    fh = null;
    if (h) await h.close();
  };

  return new Readable({
    highWaterMark: READ_SIZE,
    async read() {
      try {
        for (;;) {
          if (!fh) {
            if (index >= paths.length) {
              this.push(null);
              return;
            }
            try {
              fh = await open(paths[index]!, fsc.O_RDONLY | fsc.O_NOFOLLOW);
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              throw new ArchiveError(`Export file ${paths[index]} cannot be opened (${code === 'ELOOP' ? 'it is a symbolic link' : code}).`);
            }
            readInFile = 0;
          }
          // A fresh buffer per read: the consumer keeps it (tar bodies are views into it).
          const buf = Buffer.allocUnsafe(READ_SIZE);
          const { bytesRead } = await fh.read(buf, 0, READ_SIZE, null);
          const expected = opts.expectedSizes?.[index];
          if (bytesRead === 0) {
            if (expected !== undefined && expected !== null && readInFile !== expected) {
              throw new ArchiveError(`Export file ${paths[index]} has ${readInFile} bytes, expected ${expected}.`);
            }
            await closeCurrent();
            index++;
            continue;
          }
          readInFile += bytesRead;
          if (expected !== undefined && expected !== null && readInFile > expected) {
            throw new ArchiveError(`Export file ${paths[index]} is larger than the expected ${expected} bytes.`);
          }
          this.push(bytesRead === READ_SIZE ? buf : buf.subarray(0, bytesRead));
          return;
        }
      } catch (e) {
        this.destroy(e as Error);
      }
    },
    destroy(err, cb) {
      closeCurrent().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
}

/** Where some bytes of an archive lie: a range of one of its open chunk files. */
export interface ChunkRange {
  fd: number;
  position: number;
  length: number;
}

/**
 * Random access over the chunks of an export as one byte range (the tar reader's source during
 * an import): bodies can be skipped without reading them and located in the chunk files, so a
 * worker thread reads an artifact's bytes itself (positional reads on these fds) instead of this
 * thread reading and handing them over. Chunks are opened in order as reading reaches them, with
 * O_NOFOLLOW, and must be regular files; the fds stay open until `close()`.
 */
export class ChunkFiles {
  private readonly files: Array<{ fh: FileHandle; start: number; size: number }> = [];
  private end = 0;
  private opening: Promise<boolean> | null = null;
  private closed = false;

  constructor(private readonly paths: readonly string[]) {}

  /** Opens the next chunk; false when there is none. */
  private openNext(): Promise<boolean> {
    this.opening ??= (async () => {
      const i = this.files.length;
      if (i >= this.paths.length || this.closed) return false;
      let fh: FileHandle;
      try {
        fh = await open(this.paths[i]!, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new ArchiveError(`Export file ${this.paths[i]} cannot be opened (${code === 'ELOOP' ? 'it is a symbolic link' : code}).`);
      }
      const st = await fh.stat().catch(async (e) => {
        await fh.close();
        throw e;
      });
      if (!st.isFile()) {
        await fh.close();
        throw new ArchiveError(`Export file ${this.paths[i]} is not a regular file.`);
      }
      if (this.closed) {
        await fh.close();
        return false;
      }
      this.files.push({ fh, start: this.end, size: st.size });
      this.end += st.size;
      return true;
    })().finally(() => (this.opening = null));
    return this.opening;
  }

  /** The chunk holding `offset` (opening chunks up to it), or null past the end. */
  private async at(offset: number): Promise<{ fh: FileHandle; start: number; size: number } | null> {
    while (offset >= this.end) if (!(await this.openNext())) return null;
    let lo = 0;
    let hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.files[mid]!.start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.files[lo]!;
  }

  /** Up to `max` bytes at `offset`, never across a chunk boundary, in a fresh buffer; empty at the end. */
  async read(offset: number, max: number): Promise<Buffer> {
    const f = await this.at(offset);
    if (!f) return Buffer.alloc(0);
    const want = Math.min(max, f.start + f.size - offset);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await f.fh.read(buf, got, want - got, offset - f.start + got);
      if (bytesRead === 0) throw new ArchiveError(`Export file ${this.paths[this.files.indexOf(f)]} shrank while it was being read.`);
      got += bytesRead;
    }
    return buf;
  }

  /** Where [offset, offset + length) lies; covers less than `length` when the archive ends first. */
  async locate(offset: number, length: number): Promise<ChunkRange[]> {
    const out: ChunkRange[] = [];
    let at = offset;
    const stop = offset + length;
    while (at < stop) {
      const f = await this.at(at);
      if (!f) break;
      const n = Math.min(stop, f.start + f.size) - at;
      out.push({ fd: f.fh.fd, position: at - f.start, length: n });
      at += n;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    const fs = this.files.splice(0);
    await Promise.all(fs.map((f) => f.fh.close().catch(() => undefined)));
  }
}
