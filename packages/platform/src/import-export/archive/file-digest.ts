import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { ArchiveError } from './archive-errors';

export type ChecksumType = 'sha256' | 'crc32';

const READ_SIZE = 1 << 20;

/**
 * Digest of a file as lowercase hex: sha256 (64 digits) or crc32 rendered the way Pulp does,
 * `hex(v)[2:]`: unpadded, so it may be shorter than 8 digits. crc32 is zlib's (Node ≥ 20.15
 * has `zlib.crc32`, this tree runs Node 20.20), so no table of our own.
 *
 * Reads with two alternating 1 MiB buffers, so the next read runs in the thread pool while the
 * current one is hashed: memory stays flat and nothing is allocated per read. Opens with
 * O_NOFOLLOW and checks that the file is still a regular file, so a chunk swapped for a symlink
 * after the caller's lstat is refused instead of followed.
 */
export async function digestFile(
  file: string,
  type: ChecksumType,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<{ size: number; digest: string }> {
  const fh = await open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ArchiveError(`${file} is not a regular file.`);
    const sha = type === 'sha256' ? createHash('sha256') : null;
    let crc = 0;
    let size = 0;
    const bufs = [Buffer.allocUnsafeSlow(READ_SIZE), Buffer.allocUnsafeSlow(READ_SIZE)];
    let which = 0;
    let pending = fh.read(bufs[0]!, 0, READ_SIZE, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      opts.signal?.throwIfAborted();
      const cur = bufs[which]!;
      which ^= 1;
      pending = fh.read(bufs[which]!, 0, READ_SIZE, null);
      const view = cur.subarray(0, bytesRead);
      if (sha) sha.update(view);
      else crc = crc32(view, crc);
      size += bytesRead;
      opts.onBytes?.(bytesRead);
    }
    return { size, digest: sha ? sha.digest('hex') : (crc >>> 0).toString(16) };
  } finally {
    await fh.close();
  }
}
