import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { ArchiveError } from './archive-errors';
import { MAX_CHUNK_SIZE } from './chunk-size';
import { chunkFileName } from './chunked-file-writer';
import { digestFile, type ChecksumType } from './file-digest';

export const TOC_FORMAT = 'pith-export';
export const TOC_FORMAT_VERSION = 1;
/** Default upper bound for a TOC file; a real one is a few KiB plus the manifest. */
export const DEFAULT_TOC_MAX_BYTES = 64 * (1 << 20);

/** `<base>-toc.json`, written next to `<base>.tar[.NNNN]`. */
export function tocFileName(base: string): string {
  return `${base}-toc.json`;
}

export interface TocWriteInfo {
  chunkSize: number | null;
  /** User-supplied export meta, copied as is. */
  meta?: Record<string, unknown>;
  /** The files of the export, in order (ChunkedFileWriter.finish()). */
  files: ReadonlyArray<{ name: string; size: number; sha256: string }>;
  /** Export manifest built by the caller, copied as is (omitted when undefined). */
  manifest?: unknown;
}

/**
 * Writes the Pith TOC:
 * `{"format":"pith-export","format_version":1,"checksum_type":"sha256","chunk_size":…,
 *   "meta":{…},"files":{"<name>":"<sha256>"},"sizes":{"<name>":<bytes>},"manifest":…}`
 * under a temp name, then renames it into place (refusing to replace an existing TOC). The file
 * list is validated with the same rules readToc applies, so a written TOC is always readable.
 * Returns the path and the sha256 of the TOC bytes (recorded by the export as toc_info).
 */
export async function writeToc(dir: string, base: string, info: TocWriteInfo): Promise<{ path: string; sha256: string }> {
  const files: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  for (const f of info.files) {
    files[f.name] = f.sha256;
    sizes[f.name] = f.size;
  }
  const doc: Record<string, unknown> = {
    format: TOC_FORMAT,
    format_version: TOC_FORMAT_VERSION,
    checksum_type: 'sha256',
    chunk_size: info.chunkSize,
    meta: info.meta ?? {},
    files,
    sizes,
  };
  if (info.manifest !== undefined) doc.manifest = info.manifest;
  const text = Buffer.from(JSON.stringify(doc));
  // Same checks as on import: never write a TOC that our own reader would refuse.
  validateDoc(doc, path.join(path.resolve(dir), tocFileName(base)));

  const finalPath = path.join(path.resolve(dir), tocFileName(base));
  const tmpPath = path.join(path.dirname(finalPath), `.${tocFileName(base)}.partial`);
  const fh = await open(tmpPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  try {
    await fh.writeFile(text);
    await fh.close();
    if (await lexists(finalPath)) throw new ArchiveError(`Export TOC ${path.basename(finalPath)} already exists in ${dir}.`);
    await rename(tmpPath, finalPath);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw e;
  }
  return { path: finalPath, sha256: createHash('sha256').update(text).digest('hex') };
}

/** One chunk (or the single tar) listed by a TOC. */
export interface TocChunk {
  /** Basename as listed. */
  name: string;
  /** Absolute path: always inside the TOC's folder. */
  path: string;
  /** Numeric chunk index, null for an unchunked `<base>.tar`. */
  index: number | null;
  /** Expected size, or null when the TOC does not say (Pulp). */
  size: number | null;
  /** Expected digest, lowercase hex, in `checksumType`. */
  checksum: string;
}

export interface ParsedToc {
  /** Absolute path of the TOC file. */
  path: string;
  /** Folder holding the TOC and its chunks. */
  dir: string;
  /** sha256 of the TOC bytes. */
  sha256: string;
  /** `pith` for our format, `pulp` for a Pulp 3 export TOC. */
  format: 'pith' | 'pulp';
  checksumType: ChecksumType;
  chunkSize: number | null;
  /** Shared stem of the listed files (`<base>.tar…`). */
  base: string;
  meta: Record<string, unknown>;
  /** Pith manifest as written by the exporter; undefined when absent (always for Pulp). */
  manifest: unknown;
  /** Chunks in numeric order (a single entry for an unchunked export). */
  chunks: TocChunk[];
}

/**
 * Reads and strictly validates a TOC (Pith's, or Pulp's `{"meta":{…,"checksum_type":"crc32"},
 * "files":{…}}` with unpadded crc32 hex — or sha256 for TOCs older than pulpcore 3.38).
 * Rejects, with an ArchiveError naming the problem: a file larger than `maxBytes`, invalid JSON,
 * missing/ill-typed fields, file names that are not plain basenames, malformed digests, and a file
 * list that is not exactly `<base>.tar` or `<base>.tar.0000…` consecutive from 0 (suffix = index
 * zero-padded to 4 digits, ordered numerically, unlike Pulp's lexicographic sort). Chunk paths
 * are resolved inside the TOC's folder.
 */
export async function readToc(tocPath: string, opts: { maxBytes?: number } = {}): Promise<ParsedToc> {
  const maxBytes = opts.maxBytes ?? DEFAULT_TOC_MAX_BYTES;
  const abs = path.resolve(tocPath);
  const shown = path.basename(abs);
  let text: Buffer;
  let fh;
  try {
    fh = await open(abs, fsc.O_RDONLY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArchiveError(code === 'ENOENT' ? `TOC file ${abs} does not exist.` : `TOC file ${abs} cannot be opened (${code}).`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ArchiveError(`TOC ${abs} is not a regular file.`);
    if (st.size > maxBytes) throw new ArchiveError(`TOC file ${shown} is too large (${st.size} bytes; the limit is ${maxBytes}).`);
    // Read at most maxBytes + 1 even if the file grew after fstat.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, st.size + 1));
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    if (n > maxBytes) throw new ArchiveError(`TOC file ${shown} is too large (the limit is ${maxBytes} bytes).`);
    text = buf.subarray(0, n);
  } finally {
    await fh.close();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new ArchiveError(`TOC file ${shown} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = validateDoc(doc, abs);
  return { ...parsed, sha256: createHash('sha256').update(text).digest('hex') };
}

const PITH_KEYS = new Set(['format', 'format_version', 'checksum_type', 'chunk_size', 'meta', 'files', 'sizes', 'manifest']);
const SHA256_RE = /^[0-9a-f]{64}$/;
const CRC32_RE = /^[0-9a-f]{1,8}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateDoc(doc: unknown, abs: string): Omit<ParsedToc, 'sha256'> {
  const shown = path.basename(abs);
  const fail = (msg: string): never => {
    throw new ArchiveError(`TOC file ${shown}: ${msg}`);
  };
  if (!isObject(doc)) return fail('expected a JSON object.');
  const dir = path.dirname(abs);
  const isPith = doc.format !== undefined;
  let checksumType: ChecksumType;
  let chunkSize: number | null;
  let meta: Record<string, unknown>;
  let sizes: Record<string, unknown> | null = null;

  if (isPith) {
    if (doc.format !== TOC_FORMAT) fail(`unknown format ${JSON.stringify(doc.format)} (expected "${TOC_FORMAT}").`);
    if (doc.format_version !== TOC_FORMAT_VERSION) {
      fail(`format_version ${JSON.stringify(doc.format_version)} is not supported (this version reads ${TOC_FORMAT_VERSION}).`);
    }
    for (const k of Object.keys(doc)) if (!PITH_KEYS.has(k)) fail(`unknown field "${k}".`);
    if (doc.checksum_type !== 'sha256') fail('checksum_type must be "sha256".');
    checksumType = 'sha256';
    chunkSize = parseTocChunkSize(doc.chunk_size, 'chunk_size', fail, true);
    if (!isObject(doc.meta)) return fail('"meta" must be an object.');
    meta = doc.meta;
    if (!isObject(doc.sizes)) return fail('"sizes" must be an object.');
    sizes = doc.sizes;
    if (doc.manifest !== undefined && !isObject(doc.manifest)) fail('"manifest" must be an object.');
  } else {
    // Pulp: {"meta": {..., "checksum_type": "crc32", "chunk_size": N?}, "files": {...}}
    if (!isObject(doc.meta)) return fail('"meta" must be an object (neither a Pith nor a Pulp export TOC).');
    meta = doc.meta;
    const ct = meta.checksum_type;
    if (ct === 'crc32' || ct === 'sha256') checksumType = ct;
    else if (ct === undefined) {
      // Not written by any Pulp we know of; guess from the digests' shape.
      const values = isObject(doc.files) ? Object.values(doc.files) : [];
      checksumType = values.length > 0 && values.every((v) => typeof v === 'string' && SHA256_RE.test(v)) ? 'sha256' : 'crc32';
    } else return fail(`meta.checksum_type ${JSON.stringify(ct)} is not supported (crc32 or sha256).`);
    chunkSize = parseTocChunkSize(meta.chunk_size, 'meta.chunk_size', fail, false);
  }

  if (!isObject(doc.files)) return fail('"files" is missing or not an object.');
  const names = Object.keys(doc.files);
  if (names.length === 0) fail('"files" is empty.');
  const digestRe = checksumType === 'sha256' ? SHA256_RE : CRC32_RE;
  for (const name of names) {
    checkBasename(name, fail);
    const v = doc.files[name];
    if (typeof v !== 'string' || !digestRe.test(v)) {
      fail(`the ${checksumType} of ${JSON.stringify(name)} is not ${checksumType === 'sha256' ? '64' : '1 to 8'} lowercase hex digits.`);
    }
  }
  if (sizes) {
    for (const k of Object.keys(sizes)) if (!(k in doc.files)) fail(`"sizes" lists ${JSON.stringify(k)} which is not in "files".`);
    for (const name of names) {
      const s = sizes[name];
      if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) fail(`"sizes" has no valid size for ${JSON.stringify(name)}.`);
    }
  }
  const { base, ordered } = orderChunkNames(names, fail);
  const chunked = ordered[0]!.index !== null;
  if (isPith) {
    if (chunked && chunkSize === null) fail('chunk_size must be set for a chunked export.');
    if (!chunked && chunkSize !== null) fail('chunk_size must be null for an unchunked export.');
  } else if (ordered.length > 1 && chunkSize === null) {
    fail('meta.chunk_size is required when there is more than one chunk.');
  }
  const files = doc.files as Record<string, string>;
  const chunks: TocChunk[] = ordered.map(({ name, index }) => ({
    name,
    path: path.join(dir, name),
    index,
    size: sizes ? (sizes[name] as number) : null,
    checksum: files[name]!,
  }));
  if (chunkSize !== null) {
    chunks.forEach((c, i) => {
      if (c.size === null) return;
      const last = i === chunks.length - 1;
      if ((!last && c.size !== chunkSize) || (last && c.size > chunkSize)) {
        fail(`size of ${c.name} (${c.size}) does not agree with chunk_size ${chunkSize}.`);
      }
    });
  }
  return {
    path: abs,
    dir,
    format: isPith ? 'pith' : 'pulp',
    checksumType,
    chunkSize,
    base,
    meta,
    manifest: isPith ? doc.manifest : undefined,
    chunks,
  };
}

function parseTocChunkSize(v: unknown, field: string, fail: (m: string) => never, required: boolean): number | null {
  if (v === undefined && !required) return null;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > MAX_CHUNK_SIZE) {
    return fail(`${field} must be null or a positive number of bytes.`);
  }
  return v;
}

function checkBasename(name: string, fail: (m: string) => never): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || path.isAbsolute(name)) {
    fail(`file name ${JSON.stringify(name)} is not a plain file name.`);
  }
}

const CHUNK_RE = /^(.+)\.tar(?:\.(\d+))?$/s;

/** Orders `<base>.tar` / `<base>.tar.NNNN` names numerically and checks they form one complete set. */
function orderChunkNames(names: string[], fail: (m: string) => never): { base: string; ordered: Array<{ name: string; index: number | null }> } {
  let base: string | null = null;
  const entries: Array<{ name: string; index: number | null }> = [];
  for (const name of names) {
    const m = CHUNK_RE.exec(name);
    if (!m) return fail(`${JSON.stringify(name)} is not named <base>.tar or <base>.tar.NNNN.`);
    const [, b = '', suffix] = m;
    if (base === null) base = b;
    else if (b !== base) fail(`files belong to different exports (${JSON.stringify(base)} and ${JSON.stringify(b)}).`);
    let index: number | null = null;
    if (suffix !== undefined) {
      index = Number(suffix);
      if (!Number.isSafeInteger(index) || chunkFileName(b, index) !== name) {
        fail(`chunk suffix of ${JSON.stringify(name)} must be its index zero-padded to 4 digits.`);
      }
    }
    entries.push({ name, index });
  }
  if (entries.some((e) => e.index === null)) {
    if (entries.length !== 1) fail('an unchunked <base>.tar cannot be listed together with other files.');
    return { base: base!, ordered: entries };
  }
  entries.sort((a, b) => a.index! - b.index!);
  entries.forEach((e, i) => {
    if (e.index !== i) fail(`chunk ${chunkFileName(base!, i)} is missing from the list (chunks must be numbered from 0000 without gaps).`);
  });
  return { base: base!, ordered: entries };
}

export interface VerifiedChunks {
  chunks: Array<TocChunk & { size: number }>;
  totalBytes: number;
}

export interface VerifyProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  /** Sum of the sizes found on disk. */
  bytesTotal: number;
}

/**
 * Checks every chunk before anything is imported: it exists, is a regular file (lstat, a symlink
 * is refused), has the listed size (and agrees with chunk_size), and its digest matches. All
 * problems are collected and thrown as one ArchiveError (`problems` lists them one per chunk), so
 * a user learns everything to re-copy in one go. Hashing streams with flat memory. Returns the
 * chunks with their sizes as found (Pulp TOCs list no sizes).
 */
export async function verifyChunks(
  toc: ParsedToc,
  opts: { signal?: AbortSignal; onProgress?: (p: VerifyProgress) => void } = {},
): Promise<VerifiedChunks> {
  const problems: string[] = [];
  const present: Array<{ chunk: TocChunk; size: number }> = [];
  for (const [i, chunk] of toc.chunks.entries()) {
    let st;
    try {
      st = await lstat(chunk.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(code === 'ENOENT' ? `${chunk.name}: missing` : `${chunk.name}: cannot be read (${code})`);
      continue;
    }
    if (st.isSymbolicLink()) {
      problems.push(`${chunk.name}: is a symbolic link, not a regular file`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`${chunk.name}: is not a regular file`);
      continue;
    }
    if (chunk.size !== null && st.size !== chunk.size) {
      problems.push(`${chunk.name}: size is ${st.size} bytes, the TOC says ${chunk.size}`);
      continue;
    }
    const last = i === toc.chunks.length - 1;
    if (toc.chunkSize !== null && ((!last && st.size !== toc.chunkSize) || st.size > toc.chunkSize)) {
      problems.push(`${chunk.name}: size is ${st.size} bytes, which does not fit chunk_size ${toc.chunkSize}`);
      continue;
    }
    present.push({ chunk, size: st.size });
  }

  const progress: VerifyProgress = {
    filesDone: 0,
    filesTotal: present.length,
    bytesDone: 0,
    bytesTotal: present.reduce((n, p) => n + p.size, 0),
  };
  let lastReport = 0;
  const REPORT_EVERY = 64 * (1 << 20);
  for (const { chunk, size } of present) {
    opts.signal?.throwIfAborted();
    try {
      const got = await digestFile(chunk.path, toc.checksumType, {
        signal: opts.signal,
        onBytes: (n) => {
          progress.bytesDone += n;
          if (opts.onProgress && progress.bytesDone - lastReport >= REPORT_EVERY) {
            lastReport = progress.bytesDone;
            opts.onProgress({ ...progress });
          }
        },
      });
      if (got.size !== size) problems.push(`${chunk.name}: changed while it was being verified`);
      else if (!sameDigest(toc.checksumType, chunk.checksum, got.digest)) {
        problems.push(`${chunk.name}: ${toc.checksumType} mismatch (expected ${chunk.checksum}, got ${got.digest})`);
      }
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${chunk.name}: cannot be read (${code ?? (e as Error).message})`);
    }
    progress.filesDone++;
    opts.onProgress?.({ ...progress });
  }
  if (problems.length > 0) {
    const n = problems.length;
    const shown = n > 20 ? [...problems.slice(0, 20), `and ${n - 20} more`] : problems;
    throw new ArchiveError(
      `Export files listed in ${path.basename(toc.path)} failed verification (${n} problem${n === 1 ? '' : 's'}): ${shown.join('; ')}.`,
      problems,
    );
  }
  return { chunks: present.map(({ chunk, size }) => ({ ...chunk, size })), totalBytes: progress.bytesTotal };
}

/** crc32 values compare numerically: Pulp writes them unpadded, others may pad to 8 digits. */
function sameDigest(type: ChecksumType, expected: string, got: string): boolean {
  return type === 'crc32' ? parseInt(expected, 16) === parseInt(got, 16) : expected === got;
}

async function lexists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
