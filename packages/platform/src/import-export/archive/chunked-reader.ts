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
