import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { open, readFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor } from './mime-types';
import { ifRangeMatches, noneMatch, notModifiedSince, parseRange } from './http-range';
import type { LruCache } from './lru-cache';

/** Content artifacts are content-addressed: a URL's bytes are verified against their sha256. */
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
/** Generated metadata changes with every publication under the same path. */
export const CACHE_REVALIDATE = 'no-cache';

/**
 * Files up to this size are read in one call and may be kept in memory (PITH_CONTENT_MEMORY_CACHE);
 * larger ones are streamed. Served from memory, a 1 MiB file skips the read and its buffer: the
 * send is one socket write (measured ~4× the streamed rate here).
 */
export const SMALL_FILE = 1024 * 1024;
/** Files up to this size are eligible for the in-memory cache. */
export const MEMORY_CACHE_FILE = SMALL_FILE;
const STREAM_CHUNK = 1024 * 1024;

/** An artifact file ready to be served. */
export interface ServedFile {
  /** Storage name (`artifact/ab/cdef…`). */
  file: string;
  size: number;
  sha256: string;
  lastModified: Date;
  /** Published metadata (revalidated) rather than a content artifact (immutable). */
  metadata: boolean;
  /** Path the client asked for (gives the content type). */
  relativePath: string;
  /** Absolute path when the file is not in artifact storage (a streamed download's temp file). */
  absolutePath?: string;
}

export interface SendOptions {
  localPath(file: string): string;
  /** nginx internal location prefix: answer with `X-Accel-Redirect` instead of the bytes. */
  xAccelPrefix: string | null;
  /** Bytes of small files by sha256 (files are immutable, so no invalidation is needed). */
  memory: LruCache<string, Buffer>;
}

/**
 * Reads a file whose size the database already knows: open and (usually) one read, two thread-pool
 * round trips where readFile's fstat and read-until-EOF took four per small file (0.09× nginx at
 * 4 KiB with the memory cache off). The close is not awaited. A file shorter than recorded comes
 * back short, so the caller sees the damage.
 */
async function readKnownSize(path: string, size: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    void fh.close().catch(() => undefined);
  }
}

/** The artifact's file is gone from storage (reclaimed or damaged); the caller may re-resolve. */
export class FileMissingError extends Error {}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

/** Headers every artifact response carries (also those of a download streamed on demand). */
export function artifactHeaders(f: Pick<ServedFile, 'sha256' | 'metadata' | 'relativePath'> & { size: number | null; lastModified?: Date }): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    'Content-Type': contentTypeFor(f.relativePath),
    'Cache-Control': f.metadata ? CACHE_REVALIDATE : CACHE_IMMUTABLE,
    'Accept-Ranges': 'bytes',
  };
  if (f.sha256) h.ETag = `"${f.sha256}"`;
  if (f.lastModified) h['Last-Modified'] = f.lastModified.toUTCString();
  if (f.size !== null) h['X-PULP-ARTIFACT-SIZE'] = String(f.size);
  return h;
}

/**
 * Sends an artifact: conditional GET (304), a single `Range` (206, or 416 with
 * `Content-Range: bytes *\/size`), HEAD. Small files are read whole (or come from memory), large
 * ones are streamed in 1 MiB chunks. The file is opened before any header is written, so a missing
 * file can still turn into another answer.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, f: ServedFile, opts: SendOptions): Promise<void> {
  const headers = artifactHeaders(f);
  const inm = req.headers['if-none-match'];
  const notModified = inm !== undefined ? noneMatch(inm, f.sha256) : notModifiedSince(req.headers['if-modified-since'], f.lastModified);
  if (notModified) {
    res.writeHead(304, { ETag: headers.ETag, 'Last-Modified': headers['Last-Modified'], 'Cache-Control': headers['Cache-Control'] });
    res.end();
    return;
  }
  const path = f.absolutePath ?? opts.localPath(f.file);
  if (opts.xAccelPrefix && !f.absolutePath) {
    // nginx serves the bytes (and ranges) from its internal location; we only resolved and authorized.
    // Content-Length: 0 lets nginx keep the upstream connection alive (a chunked empty body makes it
    // close the connection after every redirect: ~3-4× fewer requests/s).
    res.writeHead(200, { ...headers, 'Content-Length': 0, 'X-Accel-Redirect': `${opts.xAccelPrefix}/${f.file}` });
    res.end();
    return;
  }
  let range: { start: number; end: number } | null = null;
  if (req.headers.range !== undefined && ifRangeMatches(req.headers['if-range'] as string | undefined, f.sha256, f.lastModified)) {
    const r = parseRange(req.headers.range, f.size);
    if (r === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${f.size}`, 'Content-Length': 0, ETag: headers.ETag });
      res.end();
      return;
    }
    range = r;
  }
  const start = range?.start ?? 0;
  const end = range ? range.end : f.size - 1;
  const status = range ? 206 : 200;
  headers['Content-Length'] = f.size === 0 ? 0 : end - start + 1;
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${f.size}`;

  if (req.method === 'HEAD') {
    await stat(path).catch((e) => {
      throw isMissing(e) ? new FileMissingError(f.file) : e;
    });
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (f.size <= SMALL_FILE) {
    let buf = f.absolutePath ? undefined : opts.memory.get(f.sha256);
    if (!buf) {
      try {
        buf = await readKnownSize(path, f.size);
      } catch (e) {
        throw isMissing(e) ? new FileMissingError(f.file) : e;
      }
      if (buf.length !== f.size) throw new FileMissingError(`${f.file}: size ${buf.length}, expected ${f.size}`);
      if (!f.absolutePath && buf.length <= MEMORY_CACHE_FILE) opts.memory.set(f.sha256, buf);
    }
    res.writeHead(status, headers);
    res.end(range ? buf.subarray(start, end + 1) : buf);
    return;
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw isMissing(e) ? new FileMissingError(f.file) : e;
  }
  res.writeHead(status, headers);
  const stream = fh.createReadStream({ start, end, highWaterMark: STREAM_CHUNK, autoClose: true });
  try {
    await pipeline(stream, res);
  } catch {
    // The client went away or the read failed mid-body: the socket is already torn down.
    stream.destroy();
  }
}
