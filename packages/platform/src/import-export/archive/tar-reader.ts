import { Readable } from 'node:stream';
import { ArchiveError } from './archive-errors';
import type { ChunkRange } from './chunked-reader';
import { normalizeMemberName, quoteMemberName } from './member-name';
import { BLOCK, OFF, headerChecksum, headerChecksumSigned, isZeroBlock, padding, parseNumeric } from './tar-header';

export interface TarReadLimits {
  /** Most members (files and directories) accepted. */
  maxEntries: number;
  /** Largest single file member, in bytes. */
  maxEntryBytes: number;
  /** Largest sum of file member sizes, in bytes. */
  maxTotalBytes: number;
  /** Largest name from a pax `path` or GNU long-name record (default 4096 bytes). */
  maxNameBytes?: number;
  /** Largest pax extended header (default 1 MiB). */
  maxPaxBytes?: number;
}

/** A random-access archive (ChunkFiles): bodies can be skipped unread and located in its files. */
export interface RandomAccessArchive {
  /** Up to `max` bytes at `offset` in a fresh buffer; empty at the end. */
  read(offset: number, max: number): Promise<Buffer>;
  /** Where [offset, offset + length) lies; covers less when the archive ends first. */
  locate(offset: number, length: number): Promise<ChunkRange[]>;
}

/** One regular-file member. Its body must be consumed, or skipped, before the next one is pulled. */
export interface TarEntry {
  /** Normalised relative name (`./a//b` → `a/b`), already checked against traversal. */
  readonly name: string;
  readonly size: number;
  /** The member's bytes, streamed from the archive (views into the source buffers, no copy). */
  readonly body: Readable;
  /** Discards the rest of the body. Pulling the next entry does the same for an unread body. */
  skip(): Promise<void>;
  /** The whole body as one Buffer (for small members; refuses more than `maxBytes`). */
  buffer(maxBytes?: number): Promise<Buffer>;
  /**
   * Where the body lies in the archive's files, for a reader of its own (random-access archives
   * only); the body counts as read. A truncated body is an ArchiveError.
   */
  ranges(): Promise<ChunkRange[]>;
}

const EMPTY = Buffer.alloc(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  S: 'a GNU sparse file',
  V: 'a volume label',
  M: 'a multi-volume continuation',
  D: 'a GNU dump directory',
  N: 'an old GNU long name',
};

/** Read size on a random-access archive: headers and small members, bodies are mostly skipped. */
const RANDOM_READ = 1 << 20;
/** …and right after skipping a large body, when usually just the next header is wanted. */
const RANDOM_READ_AFTER_SKIP = 8 << 10;
/**
 * Bodies up to this size count as small: after skipping one, the next members are likely small
 * too, and one large read takes in many of them (a small read per member or two cost ~60 µs
 * each, ~0.3 s for 10,000 × 4 KiB; reading the skipped small bodies along costs far less).
 */
const SMALL_SKIP = 64 << 10;

/** Pulls the archive's bytes, chunk by chunk, from the source stream (or random-access archive). */
class ByteSource {
  buf: Buffer = EMPTY;
  pos = 0;
  /** Archive offset of buf[0]. */
  private base = 0;
  private readonly it: AsyncIterator<unknown> | null;
  private readonly ra: RandomAccessArchive | null;
  /** Random access: offset of the next read, and whether a body was just skipped. */
  private next = 0;
  private skipped = false;
  /** Size of the body skipped last (random access). */
  private lastSkip = 0;
  private eof = false;

  constructor(src: Readable | RandomAccessArchive) {
    if (src instanceof Readable) {
      this.it = src[Symbol.asyncIterator]();
      this.ra = null;
    } else {
      this.it = null;
      this.ra = src;
    }
  }

  get randomAccess(): RandomAccessArchive | null {
    return this.ra;
  }

  /** Moves past `n` bytes, reading none that are not loaded yet (random access only). */
  seekPast(n: number): void {
    if (n <= this.avail) {
      this.pos += n;
      return;
    }
    this.next = this.offset + n;
    this.base = this.next;
    this.buf = EMPTY;
    this.pos = 0;
    this.skipped = true;
    this.lastSkip = n;
  }

  get avail(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.base + this.pos;
  }

  /** Loads the next non-empty chunk once the current one is used up; false at end of stream. */
  async fill(): Promise<boolean> {
    while (this.avail === 0) {
      if (this.eof) return false;
      if (this.ra) {
        const v = await this.ra.read(this.next, this.skipped && this.lastSkip > SMALL_SKIP ? RANDOM_READ_AFTER_SKIP : RANDOM_READ);
        this.skipped = false;
        if (!v.length) {
          this.eof = true;
          return false;
        }
        this.base = this.next;
        this.next += v.length;
        this.buf = v;
        this.pos = 0;
        continue;
      }
      const r = await this.it!.next();
      if (r.done) {
        this.eof = true;
        return false;
      }
      const v = r.value;
      if (!Buffer.isBuffer(v)) throw new ArchiveError('The archive stream must produce bytes.');
      this.base += this.buf.length;
      this.buf = v;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `n` available bytes as a view, advancing past them. */
  take(n: number): Buffer {
    const k = Math.min(n, this.avail);
    const v = this.buf.subarray(this.pos, this.pos + k);
    this.pos += k;
    return v;
  }

  /** Closes a source stream; a random-access archive belongs to the caller (it may still be read). */
  async close(): Promise<void> {
    await this.it?.return?.();
  }
}

class Entry implements TarEntry {
  remaining: number;
  private stream: Readable | null = null;
  private mode: 'stream' | 'buffer' | 'skip' | 'ranges' | null = null;
  private pumping: Promise<void> | null = null;
  private pumpActive = false;
  private draining: Promise<void> | null = null;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly src: ByteSource,
    private readonly onFailure: (e: Error) => ArchiveError,
  ) {
    this.remaining = size;
  }

  get body(): Readable {
    // Created on first use: callers that only skip or buffer() a member never pay for a stream.
    if (!this.stream) {
      if (this.mode !== null) throw new Error(`tar member ${this.name}: body already read or skipped`);
      this.mode = 'stream';
      this.stream = new Readable({
        highWaterMark: 1 << 20,
        read: () => {
          // Readable may call read() again as soon as a push() succeeds, while a pump still awaits
          // the source: a second pump would race it for the same bytes.
          if (this.pumpActive) return;
          this.pumpActive = true;
          this.pumping = this.pump();
        },
      });
    }
    return this.stream;
  }

  /** Pushes views of the source buffers until the body is done or the consumer is full. */
  private async pump(): Promise<void> {
    const out = this.stream!;
    try {
      for (;;) {
        if (this.remaining === 0) {
          out.push(null);
          return;
        }
        if (this.src.avail === 0 && !(await this.src.fill())) throw this.truncated();
        if (out.destroyed) return;
        const v = this.src.take(this.remaining);
        this.remaining -= v.length;
        if (this.remaining === 0) {
          out.push(v);
          out.push(null);
          return;
        }
        if (!out.push(v)) return;
      }
    } catch (e) {
      out.destroy(this.onFailure(e as Error));
    } finally {
      this.pumpActive = false;
    }
  }

  truncated(): ArchiveError {
    const got = this.size - this.remaining;
    return new ArchiveError(
      `The archive is truncated: member ${quoteMemberName(this.name)} should have ${this.size} bytes but the archive ends after ${got}.`,
    );
  }

  skip(): Promise<void> {
    this.mode ??= 'skip';
    if (!this.draining) this.draining = this.drain();
    return this.draining;
  }

  /** Waits for a body read in progress, then discards what is left unread. */
  private async drain(): Promise<void> {
    if (this.pumping) await this.pumping;
    if (this.remaining === 0) return; // fully handed over (maybe still buffered in the body: leave it)
    if (this.src.randomAccess && this.mode === 'skip') {
      // Not read at all: an archive cut short shows at the next header read.
      this.src.seekPast(this.remaining);
      this.remaining = 0;
      return;
    }
    while (this.remaining > 0) {
      if (this.src.avail === 0 && !(await this.src.fill())) throw this.onFailure(this.truncated());
      this.remaining -= this.src.take(this.remaining).length;
    }
    this.stream?.destroy();
  }

  /**
   * Ends the body stream of a member abandoned mid-way (consumer stopped, or the archive failed).
   * Without an error: nobody may be listening any more, and a failure reaches the consumer
   * through the generator.
   */
  abandon(): void {
    if (this.remaining > 0 && this.stream && !this.stream.destroyed) this.stream.destroy();
  }

  async ranges(): Promise<ChunkRange[]> {
    const ra = this.src.randomAccess;
    if (!ra) throw new Error(`tar member ${this.name}: ranges() needs a random-access archive`);
    if (this.mode !== null) throw new Error(`tar member ${this.name}: body already read or skipped`);
    this.mode = 'ranges';
    const out = await ra.locate(this.src.offset, this.size);
    const got = out.reduce((n, r) => n + r.length, 0);
    if (got < this.size) {
      this.remaining = this.size - got;
      throw this.onFailure(this.truncated());
    }
    this.src.seekPast(this.size);
    this.remaining = 0;
    return out;
  }

  async buffer(maxBytes = 64 << 20): Promise<Buffer> {
    if (this.size > maxBytes) throw new ArchiveError(`Archive member ${quoteMemberName(this.name)} is ${this.size} bytes; at most ${maxBytes} are expected.`);
    if (this.mode !== null) throw new Error(`tar member ${this.name}: body already read or skipped`);
    this.mode = 'buffer';
    if (this.size === 0) return EMPTY;
    if (this.src.avail === 0 && !(await this.src.fill())) throw this.onFailure(this.truncated());
    // Whole body inside the current source chunk (the usual case): a view, no copy.
    if (this.src.avail >= this.size) {
      this.remaining = 0;
      return this.src.take(this.size);
    }
    const out = Buffer.allocUnsafe(this.size);
    let at = 0;
    while (this.remaining > 0) {
      if (this.src.avail === 0 && !(await this.src.fill())) throw this.onFailure(this.truncated());
      const v = this.src.take(this.remaining);
      v.copy(out, at);
      at += v.length;
      this.remaining -= v.length;
    }
    return out;
  }
}

/**
 * Reads a tar archive from `src` as a stream of regular-file entries, treating the archive as
 * hostile. Hand-written instead of using a tar library (none is in this tree): it must refuse
 * rather than repair, stream bodies as zero-copy views of the source buffers (a 1 GiB member is
 * never buffered) and stay cheap per member.
 *
 * Throws an ArchiveError naming the member, and yields nothing further, for: unsafe names
 * (`..` segments, absolute, backslash, NUL, invalid UTF-8) — the name that counts is the final one,
 * after pax `path` / GNU long-name overrides; links, devices, FIFOs and every other non-regular
 * type (directories are skipped silently); a bad header checksum or magic; a member over
 * `maxEntryBytes`, more than `maxEntries` members, more than `maxTotalBytes` in total; and a
 * truncated archive. Truncation includes a missing end-of-archive marker: our writer, GNU tar
 * and Python's tarfile all write it, so an archive ending exactly at a member boundary without it
 * is taken as cut short (e.g. a lost last chunk of a plain `path` import), not as complete. One
 * zero block followed by the end of the stream is accepted (GNU tar does the same); anything but
 * a zero block after it is rejected. Nothing after the marker is read.
 *
 * From a random-access archive (ChunkFiles) the same checks apply, but skipped bodies and bodies
 * taken as `ranges()` are never read here: only headers and consumed bodies are.
 */
export async function* readTar(src: Readable | RandomAccessArchive, limits: TarReadLimits): AsyncGenerator<TarEntry, void, undefined> {
  const maxNameBytes = limits.maxNameBytes ?? 4096;
  const maxPaxBytes = limits.maxPaxBytes ?? 1 << 20;
  const s = new ByteSource(src);
  const scratch = Buffer.alloc(BLOCK);
  let failure: ArchiveError | null = null;
  const fail = (e: Error): ArchiveError => {
    failure ??= e instanceof ArchiveError ? e : new ArchiveError(`The archive cannot be read: ${e.message}`);
    return failure;
  };
  let members = 0;
  let total = 0;
  let last: string | null = null;
  let current: Entry | null = null;

  /** Next 512-byte block (a view when possible), or null when the stream ends exactly here. */
  const readBlock = async (): Promise<Buffer | null> => {
    if (s.avail === 0 && !(await s.fill())) return null;
    if (s.avail >= BLOCK) return s.take(BLOCK);
    let at = 0;
    while (at < BLOCK) {
      if (s.avail === 0 && !(await s.fill())) {
        throw new ArchiveError(`The archive is truncated: it ends inside a header${last ? ` after member ${quoteMemberName(last)}` : ''}.`);
      }
      const v = s.take(BLOCK - at);
      v.copy(scratch, at);
      at += v.length;
    }
    return scratch;
  };

  const skipBytes = async (n: number, what: string | (() => string)): Promise<void> => {
    let left = n;
    while (left > 0) {
      if (s.avail === 0 && !(await s.fill())) throw new ArchiveError(`The archive is truncated inside ${typeof what === 'string' ? what : what()}.`);
      left -= s.take(left).length;
    }
  };

  const readData = async (n: number, what: string): Promise<Buffer> => {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      if (s.avail === 0 && !(await s.fill())) throw new ArchiveError(`The archive is truncated inside ${what}.`);
      const v = s.take(n - at);
      v.copy(out, at);
      at += v.length;
    }
    await skipBytes(padding(n), what);
    return out;
  };

  try {
    let paxPath: string | undefined;
    let paxSize: number | undefined;
    let longName: string | undefined;
    let zeroSeen = false;
    for (;;) {
      const at = s.offset;
      const h = await readBlock();
      if (h === null) {
        if (zeroSeen) return;
        if (paxPath !== undefined || paxSize !== undefined || longName !== undefined) {
          throw new ArchiveError('The archive is truncated: it ends after an extended header.');
        }
        throw new ArchiveError(
          `The archive is truncated: it ends without the end-of-archive marker${last ? ` (last member ${quoteMemberName(last)})` : ''}.`,
        );
      }
      if (isZeroBlock(h, 0)) {
        if (zeroSeen) return;
        if (paxPath !== undefined || paxSize !== undefined || longName !== undefined) {
          throw new ArchiveError('The archive ends right after an extended header.');
        }
        zeroSeen = true;
        continue;
      }
      if (zeroSeen) throw new ArchiveError(`The archive has data after its end-of-archive block (offset ${at - BLOCK}).`);

      // Names for messages are built only when one is needed (every header pays otherwise).
      const shownField = () => quoteMemberName(fieldString(h, OFF.name, 100).replace(/[^\x20-\x7e]/g, '?'));
      const stored = parseNumeric(h, OFF.chksum, 8);
      if (stored === null || (stored !== headerChecksum(h) && stored !== headerChecksumSigned(h))) {
        throw new ArchiveError(`Bad header checksum at offset ${at} (member ${shownField()}): the archive is corrupt or not a tar file.`);
      }
      const magic = h.toString('latin1', OFF.magic, OFF.magic + 8);
      const posix = magic === 'ustar\u000000';
      if (!posix && magic !== 'ustar  \u0000') {
        throw new ArchiveError(`Unsupported tar header at offset ${at} (member ${shownField()}): not a POSIX/GNU ustar header.`);
      }
      const rawSize = parseNumeric(h, OFF.size, 12);
      if (rawSize === null) throw new ArchiveError(`Bad size field in the header of member ${shownField()} (offset ${at}).`);
      const type = String.fromCharCode(h[OFF.typeflag]!);

      if (type === 'x' || type === 'g') {
        if (rawSize > maxPaxBytes) throw new ArchiveError(`Extended header at offset ${at} is too large (${rawSize} bytes).`);
        const records = parsePax(await readData(rawSize, 'an extended header'), at);
        if (type === 'g') {
          if (records.has('path') || records.has('size')) {
            throw new ArchiveError('The archive has a global extended header that sets a path or size; that is not supported.');
          }
          continue;
        }
        const p = records.get('path');
        if (p !== undefined && p !== '') {
          if (Buffer.byteLength(p) > maxNameBytes) throw new ArchiveError(`Archive member name at offset ${at} is longer than ${maxNameBytes} bytes.`);
          paxPath = p;
        }
        const sz = records.get('size');
        if (sz !== undefined) {
          const n = /^\d{1,16}$/.test(sz) ? Number(sz) : NaN;
          if (!Number.isSafeInteger(n)) throw new ArchiveError(`Bad size ${JSON.stringify(sz)} in the extended header at offset ${at}.`);
          paxSize = n;
        }
        continue;
      }
      if (type === 'L') {
        if (rawSize > maxNameBytes + 1) throw new ArchiveError(`Archive member name at offset ${at} is longer than ${maxNameBytes} bytes.`);
        const data = await readData(rawSize, 'a long-name header');
        let end = data.length;
        while (end > 0 && data[end - 1] === 0) end--;
        longName = decodeName(data.subarray(0, end), at); // a NUL left inside is rejected by the name check
        continue;
      }
      if (type === 'K') throw new ArchiveError(`The archive has a link (long link name at offset ${at}); links are not allowed.`);

      // The name that counts: pax path, else GNU long name, else ustar prefix + name.
      let rawName: string;
      if (paxPath !== undefined) rawName = paxPath;
      else if (longName !== undefined) rawName = longName;
      else {
        const name = decodeName(fieldBytes(h, OFF.name, 100), at);
        const prefix = posix ? decodeName(fieldBytes(h, OFF.prefix, 155), at) : '';
        rawName = prefix ? `${prefix}/${name}` : name;
      }
      const size = paxSize ?? rawSize;
      paxPath = paxSize = longName = undefined;
      const q = () => quoteMemberName(rawName);

      const isFile = type === '0' || type === '\0' || type === '7';
      if (!isFile && type !== '5') {
        const what = TYPE_NAMES[type] ?? `of unsupported type ${JSON.stringify(type)}`;
        throw new ArchiveError(`Archive member ${q()} is ${what}; only regular files are allowed.`);
      }
      const name = normalizeMemberName(rawName);
      if (++members > limits.maxEntries) throw new ArchiveError(`The archive has more than ${limits.maxEntries} members.`);
      if (type === '5') {
        if (size !== 0) throw new ArchiveError(`Directory member ${q()} has data.`);
        continue;
      }
      if (name === '') throw new ArchiveError(`Archive member ${q()} is a file without a name.`);
      if (size > limits.maxEntryBytes) {
        throw new ArchiveError(`Archive member ${q()} is too large (${size} bytes; the limit is ${limits.maxEntryBytes}).`);
      }
      total += size;
      if (total > limits.maxTotalBytes) throw new ArchiveError(`The archive's members add up to more than ${limits.maxTotalBytes} bytes.`);

      current = new Entry(name, size, s, fail);
      last = name;
      yield current;
      if (failure) throw failure;
      await current.skip();
      if (failure) throw failure;
      current = null;
      await skipBytes(padding(size), () => `member ${q()}`);
    }
  } catch (e) {
    throw fail(e as Error);
  } finally {
    (current as Entry | null)?.abandon();
    await s.close().catch(() => undefined);
  }
}

function fieldBytes(h: Buffer, off: number, len: number): Buffer {
  let end = off;
  const max = off + len;
  while (end < max && h[end] !== 0) end++;
  return h.subarray(off, end);
}

function fieldString(h: Buffer, off: number, len: number): string {
  return fieldBytes(h, off, len).toString('latin1');
}

function decodeName(bytes: Uint8Array, at: number): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ArchiveError(`Archive member name at offset ${at} is not valid UTF-8.`);
  }
}

/** Parses pax records "<len> <key>=<value>\n" strictly; later records win. */
function parsePax(data: Buffer, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  const bad = (): never => {
    throw new ArchiveError(`Malformed extended header at offset ${at}.`);
  };
  while (pos < data.length) {
    let sp = pos;
    while (sp < data.length && data[sp]! >= 0x30 && data[sp]! <= 0x39) sp++;
    if (sp === pos || sp - pos > 10 || data[sp] !== 0x20) bad();
    const len = Number(data.toString('latin1', pos, sp));
    const end = pos + len;
    if (len <= sp - pos + 1 || end > data.length || data[end - 1] !== 0x0a) bad();
    const rec = data.subarray(sp + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) bad();
    let key: string;
    let value: string;
    try {
      key = utf8.decode(rec.subarray(0, eq));
      value = utf8.decode(rec.subarray(eq + 1));
    } catch {
      throw new ArchiveError(`Extended header at offset ${at} is not valid UTF-8.`);
    }
    out.set(key, value);
    pos = end;
  }
  return out;
}
