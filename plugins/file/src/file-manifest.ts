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

/** A line of a manifest: its 1-based number and its text (line ending removed). */
export interface ManifestLine {
  line: number;
  text: string;
}

/**
 * Splits a byte stream into text lines, one array per chunk of input, never holding more than
 * a chunk plus one line: `\n` or `\r\n` endings, a leading UTF-8 BOM dropped, invalid UTF-8 and
 * over-long lines rejected with the line number. The complete lines of a chunk are decoded at
 * once and handed over together (a decoder call and a generator step per line were a visible
 * share of re-syncing a 10k-entry manifest); LF never occurs inside a multi-byte sequence, so
 * cutting at the last LF never splits a character.
 */
export async function* manifestLineChunks(src: AsyncIterable<Buffer | string>): AsyncGenerator<ManifestLine[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The start of the line that is still incomplete (copied: streams may reuse their buffers). */
  let carry: Buffer[] = [];
  let carryLength = 0;
  let line = 0;
  const tooLong = (at: number) => lineError(at, 'the line is too long.');
  const decode = (bytes: Uint8Array): string => {
    try {
      return decoder.decode(bytes);
    } catch {
      // Find the offending line for the message (only for a broken manifest).
      for (let n = line + 1, from = 0; ; n++) {
        const nl = bytes.indexOf(LF, from);
        try {
          decoder.decode(bytes.subarray(from, nl === -1 ? bytes.length : nl));
        } catch {
          throw lineError(n, 'it is not valid UTF-8.');
        }
        if (nl === -1) throw lineError(n, 'it is not valid UTF-8.');
        from = nl + 1;
      }
    }
  };
  const split = (bytes: Uint8Array): ManifestLine[] => {
    const parts = decode(bytes).split('\n');
    // A line's UTF-8 length is at most 3× its UTF-16 length: only long ones need measuring.
    if (bytes.length > MAX_MANIFEST_LINE) {
      parts.forEach((part, k) => {
        if (part.length * 3 > MAX_MANIFEST_LINE && Buffer.byteLength(part) > MAX_MANIFEST_LINE) throw tooLong(line + k + 1);
      });
    }
    return parts.map((t) => {
      line++;
      if (line === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
      return { line, text: t.endsWith('\r') ? t.slice(0, -1) : t };
    });
  };
  for await (const raw of src) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const last = chunk.lastIndexOf(LF);
    if (last === -1) {
      carryLength += chunk.length;
      if (carryLength > MAX_MANIFEST_LINE) throw tooLong(line + 1);
      carry.push(Buffer.from(chunk));
      continue;
    }
    // Complete lines: the carried start of the first one, then the chunk up to its last LF.
    const head = chunk.subarray(0, last);
    yield split(carryLength ? Buffer.concat([...carry, head]) : head);
    const rest = chunk.subarray(last + 1);
    carry = rest.length ? [Buffer.from(rest)] : [];
    carryLength = rest.length;
    if (carryLength > MAX_MANIFEST_LINE) throw tooLong(line + 1);
  }
  if (carryLength) yield split(Buffer.concat(carry));
}

/** `manifestLineChunks`, one line at a time. */
export async function* manifestLines(src: AsyncIterable<Buffer | string>): AsyncGenerator<ManifestLine> {
  for await (const lines of manifestLineChunks(src)) yield* lines;
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

/** Parsed entries of a manifest stream, in order, one array per chunk (bounded memory). */
export async function* manifestEntryChunks(src: AsyncIterable<Buffer | string>): AsyncGenerator<ManifestEntry[]> {
  for await (const lines of manifestLineChunks(src)) {
    const entries: ManifestEntry[] = [];
    for (const { line, text } of lines) {
      const entry = parseManifestLine(text, line);
      if (entry) entries.push(entry);
    }
    if (entries.length) yield entries;
  }
}

/** Parsed entries of a manifest stream, in order (bounded memory). */
export async function* manifestEntries(src: AsyncIterable<Buffer | string>): AsyncGenerator<ManifestEntry> {
  for await (const entries of manifestEntryChunks(src)) yield* entries;
}

/** How many lines of a manifest stream carry an entry (for a progress total; not validated). */
export async function countManifestEntries(src: AsyncIterable<Buffer | string>): Promise<number> {
  let n = 0;
  for await (const lines of manifestLineChunks(src)) {
    for (const { text } of lines) {
      const t = text.trim();
      if (t !== '' && !t.startsWith('#')) n++;
    }
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
