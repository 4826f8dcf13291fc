import { TaskError } from '@pith/plugin-api';
import { relativePathProblem } from './file-paths';

/** One line of a PULP_MANIFEST: `<relative_path>,<sha256>,<size>`. */
export interface ManifestEntry {
  relativePath: string;
  /** Lowercase hex sha256. */
  digest: string;
  size: number;
  /** 1-based line number in the manifest (for error messages). */
  line: number;
}

/** Longest manifest line accepted; a longer one is hostile or not a manifest (bounded memory). */
export const MAX_MANIFEST_LINE = 64 * 1024;

const SHA256 = /^[0-9a-fA-F]{64}$/;
const SIZE = /^\d{1,16}$/;
const LF = 0x0a;

function lineError(line: number, why: string): TaskError {
  return new TaskError(
    `Parsing of the manifest failed on line ${line}: ${why} Each line must be <relative_path>,<sha256>,<size>; ` +
      'make sure the remote URL points to a valid PULP_MANIFEST.',
  );
}

/**
 * Splits a byte stream into text lines without ever holding more than one line: `\n` or `\r\n`
 * endings, a leading UTF-8 BOM dropped, invalid UTF-8 and over-long lines rejected with the line
 * number.
 */
export async function* manifestLines(src: AsyncIterable<Buffer | string>): AsyncGenerator<{ line: number; text: string }> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let line = 0;
  const emit = (bytes: Buffer): { line: number; text: string } => {
    line++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw lineError(line, 'it is not valid UTF-8.');
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { line, text };
  };
  for await (const raw of src) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (pendingLength + piece.length > MAX_MANIFEST_LINE) throw lineError(line + 1, 'the line is too long.');
      const bytes = pendingLength ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingLength = 0;
      yield emit(bytes);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingLength += rest.length;
      if (pendingLength > MAX_MANIFEST_LINE) throw lineError(line + 1, 'the line is too long.');
      // Copied: the stream may reuse its chunk buffers.
      pending.push(Buffer.from(rest));
    }
  }
  if (pendingLength) yield emit(Buffer.concat(pending));
}

/** A CSV-quoted field (`"a,b ""c"""`) unquoted; null when the quoting is malformed. */
function unquote(field: string): string | null {
  if (field.length < 2 || !field.endsWith('"')) return null;
  const inner = field.slice(1, -1);
  if (inner.replace(/""/g, '').includes('"')) return null;
  return inner.replace(/""/g, '"');
}

/**
 * Parses one manifest line (Pulp's rules: the line is trimmed, blank lines and `#` comments are
 * skipped, the last two commas split it, so paths may contain commas). A path may also be
 * CSV-quoted. Returns null for lines that carry no entry.
 */
export function parseManifestLine(text: string, line: number): ManifestEntry | null {
  // trim() also drops a byte-order mark (U+FEFF counts as white space).
  const t = text.trim();
  if (t === '' || t.startsWith('#')) return null;
  const last = t.lastIndexOf(',');
  const middle = last > 0 ? t.lastIndexOf(',', last - 1) : -1;
  if (middle < 0) throw lineError(line, 'expected three comma-separated fields.');
  let path = t.slice(0, middle).trim();
  const digest = t.slice(middle + 1, last).trim();
  const size = t.slice(last + 1).trim();
  if (path.startsWith('"')) {
    const unquoted = unquote(path);
    if (unquoted === null) throw lineError(line, 'the quoted relative path is malformed.');
    path = unquoted;
  }
  const problem = relativePathProblem(path);
  if (problem) throw lineError(line, `invalid relative path ${JSON.stringify(path.slice(0, 200))}: ${problem}`);
  if (!SHA256.test(digest)) throw lineError(line, `${JSON.stringify(digest.slice(0, 100))} is not a sha256 hex digest.`);
  if (!SIZE.test(size) || !Number.isSafeInteger(Number(size))) throw lineError(line, `${JSON.stringify(size.slice(0, 100))} is not a size in bytes.`);
  return { relativePath: path, digest: digest.toLowerCase(), size: Number(size), line };
}

/** Parsed entries of a manifest stream, in order (bounded memory: one line at a time). */
export async function* manifestEntries(src: AsyncIterable<Buffer | string>): AsyncGenerator<ManifestEntry> {
  for await (const { line, text } of manifestLines(src)) {
    const entry = parseManifestLine(text, line);
    if (entry) yield entry;
  }
}

/** How many lines of a manifest stream carry an entry (for a progress total; not validated). */
export async function countManifestEntries(src: AsyncIterable<Buffer | string>): Promise<number> {
  let n = 0;
  for await (const { text } of manifestLines(src)) {
    const t = text.trim();
    if (t !== '' && !t.startsWith('#')) n++;
  }
  return n;
}

/**
 * One manifest line for an entry, newline included. Paths are written bare, as Pulp writes and
 * reads them (commas are fine: readers split on the last two); only a path Pulp's reader would
 * alter (surrounding spaces, a leading `#` or `"`) is CSV-quoted.
 */
export function formatManifestLine(relativePath: string, digest: string, size: number | string): string {
  const needsQuotes = /^[\s#"]|\s$/.test(relativePath);
  const path = needsQuotes ? `"${relativePath.replace(/"/g, '""')}"` : relativePath;
  return `${path},${digest},${size}\n`;
}
