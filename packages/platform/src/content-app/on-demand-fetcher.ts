import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { SyncService } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { findMismatch, MultiHasher, normalizeDigestList, type DigestName, type ExpectedFile } from '../storage/hashing';
import type { OnDemandArtifact } from './content-resolver';
import { artifactHeaders, sendFile, type SendOptions, type ServedFile } from './file-sender';
import { ifRangeMatches, parseRange, type ByteRange } from './http-range';

/** What the content app needs from the sync service: remotes and their downloaders. */
export type ContentSources = Pick<SyncService, 'remote' | 'downloader'>;

/** A remote artifact that failed is not retried for this long (Pulp's REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN). */
const FAILURE_COOLDOWN_SECONDS = 300;
const DIGESTS: DigestName[] = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

interface Source {
  pulp_id: string;
  url: string;
  remote_id: string;
  policy: string;
  expected: ExpectedFile;
}

/** A client receiving the bytes as they arrive. */
interface LiveClient {
  req: IncomingMessage;
  res: ServerResponse;
  range: ByteRange | null;
  done: () => void;
}

type FlightResult = { ok: true; file: ServedFile } | { ok: false; status: number; reason: string };

function text(res: ServerResponse, status: number, body: string, head: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(head ? undefined : body);
}

/** Headers of content not downloaded yet: immutable only when a sha256 will be verified. */
function onDemandHeaders(relativePath: string, size: number | null, sha256: string | null): OutgoingHttpHeaders {
  const h = artifactHeaders({ sha256: sha256 ?? '', metadata: !sha256, relativePath, size });
  return h;
}

async function unlinkQuiet(p: string): Promise<void> {
  await unlink(p).catch(() => undefined);
}

/** Waits until `res` can take more data (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Serves content artifacts that are not downloaded yet (remote policy on_demand / streamed): the
 * first request fetches from the unit's remote artifacts with the remote's downloader, streaming
 * to the client while hashing and writing a temp file. When the body is complete and matches the
 * expected size and digests, on_demand saves it as an artifact and points the content artifact at
 * it; streamed keeps nothing. A mismatch aborts every receiving connection (so no client keeps a
 * wrong body as complete) and saves nothing.
 *
 * Single flight: requests for the same content artifact that arrive before the first byte share
 * the download; later ones wait for it to finish and are then served from the saved artifact (a
 * streamed download is shared only until it starts, so they fetch again).
 */
export class OnDemandFetcher {
  private readonly flights = new Map<string, Flight>();

  constructor(
    private readonly p: Platform,
    private readonly sources: () => ContentSources | undefined,
    private readonly send: SendOptions,
  ) {}

  /** Downloads in progress (for tests and shutdown). */
  get inFlight(): number {
    return this.flights.size;
  }

  async serve(req: IncomingMessage, res: ServerResponse, od: OnDemandArtifact): Promise<void> {
    const head = req.method === 'HEAD';
    if (head) {
      // Answer from what is expected; a HEAD does not download anything.
      const h = onDemandHeaders(od.relativePath, od.size, od.sha256);
      if (od.size !== null) h['Content-Length'] = od.size;
      res.writeHead(200, h);
      res.end();
      return;
    }
    let range: ByteRange | null = null;
    if (od.size !== null && req.headers.range !== undefined
      && (od.sha256 === null || ifRangeMatches(req.headers['if-range'] as string | undefined, od.sha256, new Date(0)))) {
      const r = parseRange(req.headers.range, od.size);
      if (r === 'unsatisfiable') {
        res.writeHead(416, { 'Content-Range': `bytes */${od.size}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      range = r;
    }
    let flight = this.flights.get(od.contentArtifactId);
    if (!flight) {
      flight = new Flight(this.p, this.sources, od, () => {
        if (this.flights.get(od.contentArtifactId) === flight) this.flights.delete(od.contentArtifactId);
      });
      this.flights.set(od.contentArtifactId, flight);
      void flight.run();
    }
    if (flight.joinable) {
      await flight.attach({ req, res, range, done: () => undefined });
      return;
    }
    const result = await flight.result;
    if (!result.ok) return text(res, result.status, `${result.status}: ${result.reason}\n`, false);
    await sendFile(req, res, result.file, this.send);
  }
}

class Flight {
  /** Clients attached before the first byte: they receive the live stream. */
  private readonly live = new Set<LiveClient>();
  private started = false;
  private readonly abort = new AbortController();
  private resolveResult!: (r: FlightResult) => void;
  readonly result: Promise<FlightResult>;

  constructor(
    private readonly p: Platform,
    private readonly sources: () => ContentSources | undefined,
    private readonly od: OnDemandArtifact,
    private readonly detach: () => void,
  ) {
    this.result = new Promise((r) => {
      this.resolveResult = r;
    });
  }

  /** Still before the first byte: a new client can share the live stream. */
  get joinable(): boolean {
    return !this.started;
  }

  attach(client: LiveClient): Promise<void> {
    return new Promise((resolve) => {
      const c: LiveClient = { ...client, done: resolve };
      this.live.add(c);
      c.res.once('close', () => {
        if (!this.live.delete(c)) return;
        resolve();
        // Nobody is listening to a streamed download any more: stop it (on_demand ones finish and save).
        if (this.live.size === 0 && this.started && this.policy === 'streamed') this.abort.abort(new Error('all clients left'));
      });
    });
  }

  private policy = 'on_demand';

  private finishClients(fn: (c: LiveClient) => void): void {
    for (const c of [...this.live]) {
      this.live.delete(c);
      fn(c);
      c.done();
    }
  }

  private fail(status: number, reason: string): void {
    this.finishClients((c) => text(c.res, status, `${status}: ${reason}\n`, false));
    this.resolveResult({ ok: false, status, reason });
    this.detach();
  }

  private async loadSources(): Promise<Source[]> {
    const rows = await this.p.db.query(
      `SELECT ra.pulp_id, ra.url, ra.remote_id, r.policy, ra.size, ${DIGESTS.map((d) => `ra.${d}`).join(', ')}
         FROM core_remoteartifact ra JOIN core_remote r ON r.pulp_id = ra.remote_id
        WHERE ra.content_artifact_id = $1
          AND (ra.failed_at IS NULL OR ra.failed_at < now() - make_interval(secs => $2))
        ORDER BY ra.pulp_created`,
      [this.od.contentArtifactId, FAILURE_COOLDOWN_SECONDS],
    );
    return rows.map((r) => {
      const expected: ExpectedFile = {};
      if (r.size !== null && r.size !== undefined) expected.size = Number(r.size);
      for (const d of DIGESTS) if (r[d]) expected[d] = String(r[d]).toLowerCase();
      return { pulp_id: r.pulp_id, url: r.url, remote_id: r.remote_id, policy: r.policy, expected };
    });
  }

  private async markFailed(sourceId: string): Promise<void> {
    await this.p.db.query('UPDATE core_remoteartifact SET failed_at = now() WHERE pulp_id = $1', [sourceId]).catch(() => undefined);
  }

  async run(): Promise<void> {
    try {
      await this.runInner();
    } catch (e) {
      this.p.logger.error('on-demand download failed', { path: this.od.relativePath, error: (e as Error).stack ?? String(e) });
      this.started = true;
      this.fail(502, 'The content could not be fetched from its remote.');
    }
  }

  private async runInner(): Promise<void> {
    const svc = this.sources();
    if (!svc) return this.fail(502, 'On-demand downloads are not available in this process.');
    const sources = await this.loadSources();
    if (!sources.length) return this.fail(404, 'The content is not downloaded and has no remote source to fetch it from (or every source failed recently).');
    for (const src of sources) {
      let stream: NodeJS.ReadableStream;
      try {
        const remote = await svc.remote(src.remote_id);
        stream = await svc.downloader(remote).open(src.url, this.abort.signal);
      } catch (e) {
        this.p.logger.warn('on-demand source failed', { url: src.url, error: (e as Error).message });
        await this.markFailed(src.pulp_id);
        continue;
      }
      if (this.live.size === 0 && src.policy === 'streamed') {
        // Every client left while connecting; nothing to keep either.
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return this.fail(499, 'client went away');
      }
      return this.stream(src, stream);
    }
    return this.fail(502, 'Every remote source of this content failed.');
  }

  private async stream(src: Source, stream: NodeJS.ReadableStream): Promise<void> {
    this.started = true;
    this.policy = src.policy;
    // A streamed download is not shared once bytes flow: later requests start their own.
    if (src.policy === 'streamed') this.detach();
    const expected = src.expected;
    const size = expected.size ?? this.od.size;
    const sha256 = expected.sha256 ?? this.od.sha256;
    const base = onDemandHeaders(this.od.relativePath, size ?? null, sha256 ?? null);
    // No Content-Length: with chunked encoding the body is complete only when the final chunk is
    // sent, which happens after verification; a mismatch resets the connection before it, so no
    // client can take an unverified body for a complete one.
    for (const c of this.live) {
      const h: OutgoingHttpHeaders = { ...base };
      if (c.range && size !== null && size !== undefined) {
        h['Content-Range'] = `bytes ${c.range.start}-${c.range.end}/${size}`;
        c.res.writeHead(206, h);
      } else {
        c.range = null;
        c.res.writeHead(200, h);
      }
    }

    const algorithms = normalizeDigestList([...this.p.artifacts.digests, ...DIGESTS.filter((d) => expected[d])]);
    const hasher = new MultiHasher(algorithms);
    const tmp = this.p.artifacts.tempPath();
    const out: WriteStream = createWriteStream(tmp);
    const outError = new Promise<never>((_, reject) => out.once('error', reject));
    outError.catch(() => undefined);
    let pos = 0;
    try {
      for await (const raw of stream as AsyncIterable<Buffer>) {
        const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        hasher.update(chunk);
        const wait: Array<Promise<unknown>> = [];
        if (!out.write(chunk)) wait.push(Promise.race([new Promise<void>((r) => out.once('drain', () => r())), outError]));
        for (const c of [...this.live]) {
          this.forward(c, chunk, pos);
          if (c.res.writableNeedDrain) wait.push(drained(c.res));
        }
        pos += chunk.length;
        if (wait.length) await Promise.all(wait);
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    } catch (e) {
      out.destroy();
      await unlinkQuiet(tmp);
      if (this.abort.signal.aborted && this.policy === 'streamed') {
        this.resolveResult({ ok: false, status: 502, reason: 'The download was abandoned.' });
        this.detach();
        return;
      }
      this.p.logger.warn('on-demand download broke off', { url: src.url, error: (e as Error).message });
      await this.markFailed(src.pulp_id);
      this.finishClients((c) => c.res.destroy());
      this.resolveResult({ ok: false, status: 502, reason: 'The download from the remote broke off.' });
      this.detach();
      return;
    }

    const digests = hasher.digest();
    const bad = findMismatch({ size: pos, digests }, expected);
    if (bad) {
      // Bytes already went out: resetting the connections is the only way to say "this is wrong".
      this.p.logger.warn('on-demand download did not match its expected digests', { url: src.url, field: bad.field });
      await unlinkQuiet(tmp);
      await this.markFailed(src.pulp_id);
      this.finishClients((c) => c.res.destroy());
      this.resolveResult({ ok: false, status: 502, reason: `The downloaded content did not match its expected ${bad.field}.` });
      this.detach();
      return;
    }
    if (src.policy === 'streamed') {
      this.finishClients((c) => c.res.end());
      await unlinkQuiet(tmp);
      this.resolveResult({ ok: false, status: 502, reason: 'Streamed content is not kept.' });
      return;
    }
    try {
      // Saved before the final chunk goes out (as Pulp does), and even if every client left: the
      // next request is then served from storage.
      const artifact = await this.p.artifacts.storeHashed({ path: tmp, size: pos, digests });
      await this.p.db.query(
        `UPDATE core_contentartifact SET artifact_id = $1, pulp_last_updated = clock_timestamp()
          WHERE pulp_id = $2 AND artifact_id IS NULL`,
        [artifact.pulp_id, this.od.contentArtifactId],
      ).catch((e) => this.p.logger.warn('could not link a downloaded artifact', { error: (e as Error).message }));
      this.resolveResult({
        ok: true,
        file: {
          file: artifact.file, size: artifact.size, sha256: artifact.sha256, lastModified: new Date(),
          metadata: false, relativePath: this.od.relativePath,
        },
      });
    } catch (e) {
      await unlinkQuiet(tmp);
      this.p.logger.error('could not save an on-demand download', { error: (e as Error).message });
      this.resolveResult({ ok: false, status: 502, reason: 'The downloaded content could not be saved.' });
    } finally {
      // The bytes were verified either way: the receiving clients have a good body.
      this.finishClients((c) => c.res.end());
      this.detach();
    }
  }

  /** Writes the part of `chunk` (at offset `pos`) the client asked for. */
  private forward(c: LiveClient, chunk: Buffer, pos: number): void {
    if (c.res.destroyed) return;
    if (!c.range) {
      c.res.write(chunk);
      return;
    }
    // A ranged client is still ended only after verification, like everyone else.
    const from = Math.max(c.range.start, pos);
    const to = Math.min(c.range.end + 1, pos + chunk.length);
    if (from < to) c.res.write(chunk.subarray(from - pos, to - pos));
  }
}
