import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { DigestName, Digests } from '../storage/hashing';

/** A stream pauses when this much of it waits in a worker (keeps memory flat on a slow disk). */
export const MAX_BACKLOG = 4 << 20;
/** Small files finished close together travel in one message: up to this many bytes… */
const GROUP_BYTES = 4 << 20;
/** …or files… */
const GROUP_FILES = 128;
/** …or after this long (the connection is already serving the next file meanwhile). */
const GROUP_WAIT_MS = 10;

/** A byte range of a file open in this process (read by a worker with positional reads). */
export interface FileRange {
  fd: number;
  position: number;
  length: number;
}

/** What a worker reports for a finished file. */
export interface ReceivedFile {
  size: number;
  digests: Digests;
}

/** A worker-side failure (fs error code kept so callers can classify it). */
export class ReceiveWorkerError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'ReceiveWorkerError';
  }
}

// Plain JS evaluated in the worker (no TypeScript loader needed, in tests or in dist). Files are
// written with synchronous calls (this thread has nothing else to do, and it saves the event loop
// three threadpool round trips per file) and every byte is hashed once with every digest.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const sessions = new Map();
function writeAll(fd, b) {
  let off = 0;
  while (off < b.byteLength) off += fs.writeSync(fd, b, off, b.byteLength - off);
}
function digests(a, hs) {
  const d = {};
  a.forEach((name, i) => { d[name] = hs[i].digest('hex'); });
  return d;
}
function errorOf(id, e) {
  return { id, m: String((e && e.message) || e), c: e && e.code };
}
function dropSession(id, path) {
  const s = sessions.get(id);
  sessions.delete(id);
  if (s && s.fd !== null) { try { fs.closeSync(s.fd); } catch {} }
  try { fs.unlinkSync(path); } catch {}
}
function moveOne(from, to) {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if (!e || e.code !== 'ENOENT') throw e;
    fs.mkdirSync(require('node:path').dirname(to), { recursive: true });
    fs.renameSync(from, to);
  }
}
let copyBuf = null;
function copyOne(j, a) {
  // Byte ranges of files this process has open (an archive being imported), read here.
  copyBuf ??= Buffer.allocUnsafe(1 << 20);
  const hs = a.map((x) => createHash(x));
  let fd = null;
  let size = 0;
  try {
    fd = fs.openSync(j.p, 'w');
    for (const [src, pos, len] of j.s) {
      let done = 0;
      while (done < len) {
        const n = fs.readSync(src, copyBuf, 0, Math.min(copyBuf.length, len - done), pos + done);
        if (n === 0) throw new Error('the source file ended early');
        const v = copyBuf.subarray(0, n);
        writeAll(fd, v);
        for (const h of hs) h.update(v);
        done += n;
      }
      size += len;
    }
    fs.closeSync(fd);
    fd = null;
    return { id: j.id, size, d: digests(a, hs) };
  } catch (e) {
    if (fd !== null) { try { fs.closeSync(fd); } catch {} }
    try { fs.unlinkSync(j.p); } catch {}
    return errorOf(j.id, e);
  }
}
parentPort.on('message', (m) => {
  if (m.t === 'c') {
    // Files copied from ranges of open files (no bytes travel in the message).
    parentPort.postMessage({ t: 'G', r: m.j.map((j) => copyOne(j, m.a)) });
    return;
  }
  if (m.t === 'm') {
    // Renames into artifact storage, requested (in bulk) by the storing transaction.
    const r = m.m.map(([from, to]) => {
      try { moveOne(from, to); return null; } catch (e) { return { m: String((e && e.message) || e), c: e && e.code }; }
    });
    parentPort.postMessage({ t: 'M', id: m.id, r });
    return;
  }
  if (m.t === 'g') {
    // A group of small files: each one opened, written, closed and hashed here.
    const out = [];
    for (const j of m.j) {
      j.a = m.a;
      const b = new Uint8Array(m.b.buffer, m.b.byteOffset + j.o, j.n);
      let fd = null;
      try {
        fd = fs.openSync(j.p, 'w');
        writeAll(fd, b);
        fs.closeSync(fd);
        fd = null;
        const hs = j.a.map((a) => createHash(a));
        for (const h of hs) h.update(b);
        out.push({ id: j.id, size: j.n, d: digests(j.a, hs) });
      } catch (e) {
        if (fd !== null) { try { fs.closeSync(fd); } catch {} }
        try { fs.unlinkSync(j.p); } catch {}
        out.push(errorOf(j.id, e));
      }
    }
    parentPort.postMessage({ t: 'G', r: out });
    return;
  }
  try {
    if (m.t === 'o') {
      sessions.set(m.id, { path: m.p, a: m.a, h: m.a.map((a) => createHash(a)), fd: fs.openSync(m.p, 'w'), size: 0 });
    } else if (m.t === 'u') {
      const s = sessions.get(m.id);
      if (!s) return;
      writeAll(s.fd, m.b);
      for (const h of s.h) h.update(m.b);
      s.size += m.b.byteLength;
      parentPort.postMessage({ t: 'a', id: m.id, n: m.b.byteLength });
    } else if (m.t === 'f') {
      const s = sessions.get(m.id);
      if (!s) return;
      sessions.delete(m.id);
      fs.closeSync(s.fd);
      parentPort.postMessage({ t: 'd', id: m.id, size: s.size, d: digests(s.a, s.h) });
    } else if (m.t === 'x') {
      dropSession(m.id, m.p);
      parentPort.postMessage({ t: 'z', id: m.id });
    }
  } catch (e) {
    const s = sessions.get(m.id);
    if (s) dropSession(m.id, s.path);
    parentPort.postMessage({ t: 'e', ...errorOf(m.id, e) });
  }
});
`;

interface Pending {
  backlog: number;
  onDrain: Array<() => void>;
  done?: { resolve(r: ReceivedFile): void; reject(e: Error): void };
  discarded?: () => void;
  error?: Error;
}

interface GroupJob {
  id: number;
  path: string;
  chunks: Buffer[];
  bytes: number;
  state: Pending;
  /** Tells the session which worker got it (for a later discard). */
  assign(pw: PoolWorker): void;
}

type WorkerMessage =
  | { t: 'a'; id: number; n: number }
  | { t: 'd'; id: number; size: number; d: Digests }
  | { t: 'z'; id: number }
  | { t: 'e'; id: number; m: string; c?: string }
  | { t: 'G'; r: Array<{ id: number; size?: number; d?: Digests; m?: string; c?: string }> }
  | { t: 'M'; id: number; r: Array<{ m: string; c?: string } | null> };

class PoolWorker {
  readonly worker: Worker;
  /** Streaming sessions and grouped files waiting for an answer, by id. */
  readonly pending = new Map<number, Pending>();
  /** Bulk renames waiting for their answer, by id. */
  readonly moves = new Map<number, { resolve(r: Array<Error | null>): void; reject(e: Error): void }>();
  dead: Error | null = null;

  constructor(onExit: (w: PoolWorker) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    const fail = (e: Error) => {
      if (this.dead) return;
      this.dead = e;
      for (const s of this.pending.values()) {
        s.error = e;
        s.done?.reject(e);
        s.discarded?.();
        for (const f of s.onDrain.splice(0)) f();
      }
      this.pending.clear();
      for (const m of this.moves.values()) m.reject(e);
      this.moves.clear();
      onExit(this);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new ReceiveWorkerError(`file worker exited (code ${code})`)));
  }

  private onMessage(m: WorkerMessage): void {
    if (m.t === 'M') {
      const waiting = this.moves.get(m.id);
      this.moves.delete(m.id);
      waiting?.resolve(m.r.map((e) => (e ? new ReceiveWorkerError(e.m, e.c) : null)));
      return;
    }
    if (m.t === 'G') {
      for (const r of m.r) this.settle(r.id, r.m === undefined ? { size: r.size!, digests: r.d! } : new ReceiveWorkerError(r.m, r.c));
      return;
    }
    const s = this.pending.get(m.id);
    if (!s) return;
    if (m.t === 'a') {
      s.backlog -= m.n;
      if (s.backlog <= MAX_BACKLOG / 2) for (const f of s.onDrain.splice(0)) f();
    } else if (m.t === 'd') {
      this.settle(m.id, { size: m.size, digests: m.d });
    } else if (m.t === 'z') {
      this.pending.delete(m.id);
      s.discarded?.();
    } else if (m.t === 'e') {
      this.settle(m.id, new ReceiveWorkerError(m.m, m.c));
    }
  }

  private settle(id: number, r: ReceivedFile | Error): void {
    const s = this.pending.get(id);
    if (!s) return;
    this.pending.delete(id);
    if (r instanceof Error) {
      s.error = r;
      s.done?.reject(r);
      for (const f of s.onDrain.splice(0)) f();
    } else {
      s.done?.resolve(r);
    }
  }

  post(msg: object, transfer?: ArrayBuffer[]): void {
    if (!this.dead) this.worker.postMessage(msg, transfer);
  }

  /** Sends copy jobs (ranges of open files into temp files) in one message. */
  postCopies(jobs: Array<{ id: number; path: string; segments: FileRange[]; state: Pending }>, algorithms: readonly DigestName[]): void {
    for (const j of jobs) this.pending.set(j.id, j.state);
    if (this.dead) {
      for (const j of jobs) this.settle(j.id, this.dead);
      return;
    }
    this.post({ t: 'c', a: algorithms, j: jobs.map((j) => ({ id: j.id, p: j.path, s: j.segments.map((r) => [r.fd, r.position, r.length]) })) });
  }

  /** Sends whole small files in one message (one copy into one transferred buffer). */
  postGroup(jobs: GroupJob[], bytes: number, algorithms: readonly DigestName[]): void {
    const b = new Uint8Array(bytes);
    let off = 0;
    const meta = jobs.map((j) => {
      const o = off;
      for (const c of j.chunks) {
        b.set(c, off);
        off += c.length;
      }
      this.pending.set(j.id, j.state);
      j.assign(this);
      return { id: j.id, p: j.path, o, n: j.bytes };
    });
    if (this.dead) {
      for (const j of jobs) this.settle(j.id, this.dead);
      return;
    }
    this.post({ t: 'g', a: algorithms, j: meta, b }, [b.buffer as ArrayBuffer]);
  }
}

/** Copies chunks into one fresh buffer that can be transferred (received chunks may share pooled memory). */
function concat(chunks: Buffer[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * One temp file written and hashed by a pool worker: either streamed (`write` as data arrives,
 * then `finish`) or, for a file that arrived whole, sent in a group with others (`finish` only).
 */
export class ReceiveSession {
  private readonly state: Pending = { backlog: 0, onDrain: [] };
  /** The worker handling this file: chosen at the first write, or when its group is sent. */
  private pw: PoolWorker | null = null;

  constructor(
    private readonly pool: ReceivePool,
    private readonly id: number,
    readonly path: string,
    private readonly algorithms: readonly DigestName[],
  ) {}

  get backlog(): number {
    return this.state.backlog;
  }

  /** Streams data (copied once); the file is opened with the first piece. */
  write(chunks: Buffer[], bytes: number): void {
    if (this.state.error) throw this.state.error;
    const b = concat(chunks, bytes);
    if (!this.pw) {
      this.pw = this.pool.worker();
      this.pw.pending.set(this.id, this.state);
      this.pw.post({ t: 'o', id: this.id, p: this.path, a: this.algorithms });
    }
    this.state.backlog += b.byteLength;
    this.pw.post({ t: 'u', id: this.id, b }, [b.buffer as ArrayBuffer]);
  }

  /** Resolves once the worker has caught up to half the backlog limit. */
  drain(): Promise<void> {
    if (this.state.backlog <= MAX_BACKLOG / 2 || this.state.error || !this.pw || this.pw.dead) return Promise.resolve();
    return new Promise((resolve) => this.state.onDrain.push(resolve));
  }

  /** Writes `chunks` as the rest of the file (or all of it), closes it and returns size and digests. */
  finish(chunks: Buffer[], bytes: number): Promise<ReceivedFile> {
    if (this.state.error) return Promise.reject(this.state.error);
    if (this.pw?.dead) return Promise.reject(this.pw.dead);
    const result = new Promise<ReceivedFile>((resolve, reject) => (this.state.done = { resolve, reject }));
    if (!this.pw) {
      this.pool.addToGroup(
        { id: this.id, path: this.path, chunks, bytes, state: this.state, assign: (pw) => (this.pw = pw) },
        this.algorithms,
      );
    } else {
      if (bytes) this.write(chunks, bytes);
      this.pw.post({ t: 'f', id: this.id });
    }
    return result;
  }

  /** Closes and deletes the temp file (after a failure or a verification mismatch); resolves once it is gone. */
  discard(): Promise<void> {
    // Not sent anywhere yet (or its worker is gone, see `orphaned`): nothing to delete here.
    const pw = this.pw;
    if (!pw || pw.dead) return Promise.resolve();
    pw.pending.set(this.id, this.state);
    this.state.done = undefined;
    return new Promise((resolve) => {
      this.state.discarded = resolve;
      pw.post({ t: 'x', id: this.id, p: this.path });
    });
  }

  /** True when the worker died: the caller must delete the temp file itself. */
  get orphaned(): boolean {
    return !!this.pw && this.pw.dead !== null;
  }
}

/**
 * Worker threads that write downloads to temp files and hash them, so the event loop only
 * receives bytes and hands them over (DESIGN §5: hashing and per-file syscalls are the CPU cost
 * of syncing many files). Small files go in groups (one message for many files), large ones
 * stream. Workers are created lazily, unref'd, and replaced if one dies.
 */
export class ReceivePool {
  private readonly workers: Array<PoolWorker | null>;
  private nextId = 1;
  private nextWorker = 0;
  private group: GroupJob[] = [];
  private groupBytes = 0;
  private groupAlgorithms: readonly DigestName[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(size = Math.max(1, availableParallelism())) {
    this.workers = new Array(size).fill(null);
  }

  session(tempPath: string, algorithms: readonly DigestName[]): ReceiveSession {
    return new ReceiveSession(this, this.nextId++, tempPath, algorithms);
  }

  /**
   * The next worker for a streamed file, round robin (files of a sync are alike), or the first one
   * for groups of small files (one thread to wake, not several); dead ones are replaced.
   */
  worker(forGroup = false): PoolWorker {
    const i = forGroup ? 0 : this.nextWorker++ % this.workers.length;
    let w = this.workers[i];
    if (!w) {
      w = new PoolWorker((dead) => {
        const at = this.workers.indexOf(dead);
        if (at >= 0) this.workers[at] = null;
      });
      this.workers[i] = w;
    }
    return w;
  }

  /**
   * Renames files (creating missing directories) on a worker thread: one message for a whole
   * storing batch instead of one threadpool round trip per file. A FileMover for artifact storage.
   */
  move(moves: Array<{ from: string; to: string }>): Promise<Array<Error | null>> {
    const w = this.worker(true);
    if (w.dead) return Promise.reject(w.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      w.moves.set(id, { resolve, reject });
      w.post({ t: 'm', id, m: moves.map((m) => [m.from, m.to]) });
    });
  }

  /**
   * Writes files whose bytes lie in files this process has open (`ranges`, in order), hashing
   * them, in one message to the next worker (round robin): nothing is copied through this thread.
   * The fds must stay open until every promise has settled. A failed file is deleted by the worker.
   */
  copy(files: Array<{ path: string; ranges: FileRange[] }>, algorithms: readonly DigestName[]): Array<Promise<ReceivedFile>> {
    const jobs = files.map((f) => {
      const state: Pending = { backlog: 0, onDrain: [] };
      const done = new Promise<ReceivedFile>((resolve, reject) => (state.done = { resolve, reject }));
      return { id: this.nextId++, path: f.path, segments: f.ranges, state, done };
    });
    this.worker().postCopies(jobs, algorithms);
    return jobs.map((j) => j.done);
  }

  /** Queues a whole small file; its group goes to one worker when full or after GROUP_WAIT_MS. */
  addToGroup(job: GroupJob, algorithms: readonly DigestName[]): void {
    if (this.group.length && this.groupAlgorithms !== algorithms && this.groupAlgorithms.join() !== algorithms.join()) this.flushGroup();
    this.groupAlgorithms = algorithms;
    this.group.push(job);
    this.groupBytes += job.bytes;
    if (this.groupBytes >= GROUP_BYTES || this.group.length >= GROUP_FILES) this.flushGroup();
    else this.timer ??= setTimeout(() => this.flushGroup(), GROUP_WAIT_MS);
  }

  private flushGroup(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const jobs = this.group;
    if (!jobs.length) return;
    this.group = [];
    const bytes = this.groupBytes;
    this.groupBytes = 0;
    this.worker(true).postGroup(jobs, bytes, this.groupAlgorithms);
  }

  async close(): Promise<void> {
    const ws = this.workers.filter((w): w is PoolWorker => !!w);
    this.workers.fill(null);
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}
