import type { ArtifactInfo, Downloader, ExpectedDigests, RemoteInfo } from '@pith/plugin-api';
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { setMaxListeners } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import type { ArtifactStorageService, HashedFile } from '../storage/artifact-storage.service';
import { normalizeDigestList, type DigestName, type ExpectedFile } from '../storage/hashing';
import type { Logger } from '../logging/logger';
import { ArtifactStoreBatcher } from './artifact-store-batcher';
import { AttemptError, DownloadError } from './download.error';
import { FileReceiver } from './file-receiver';
import { ReceiveWorkerError, type ReceivePool } from './receive-pool';
import { abortReason, RateLimiter, Semaphore, sleep } from './limiters';

/** Pulp's defaults when the remote leaves them null. */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 10;
export const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_CONNECT_TIMEOUT_S = 60;
const DEFAULT_READ_TIMEOUT_S = 300;
const MAX_REDIRECTIONS = 10;
/** Longest server-requested (Retry-After) or backoff wait between attempts. */
const MAX_RETRY_WAIT_MS = 60_000;
/** Error bodies are read (to keep the connection) up to this size, then the connection is dropped. */
const MAX_ERROR_BODY = 64 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Error codes of transient network conditions (Node and undici); anything else fails at once. */
const RETRIABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_REQ_RETRY', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export interface DownloaderEnv {
  artifacts: ArtifactStorageService;
  /** PITH_ALLOWED_IMPORT_PATHS: `file://` URLs must resolve (realpath) under one of these. */
  allowedImportPaths: readonly string[];
  logger: Logger;
  /** Worker threads that write and hash downloads (off the event loop). */
  pool: ReceivePool;
  /** First backoff delay between attempts, doubled each retry (jittered). */
  retryBaseMs?: number;
}

function seconds(v: number | null | undefined): number | null {
  return v === null || v === undefined || !(v > 0) ? null : v * 1000;
}

function errCode(e: unknown): string | undefined {
  const x = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const c = x?.code ?? x?.cause?.code;
  return typeof c === 'string' ? c : undefined;
}

function describe(e: unknown): string {
  const code = errCode(e);
  const msg = (e as Error | undefined)?.message || String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After` as ms (delta-seconds or an HTTP date), capped. */
function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  const ms = Number.isFinite(n) ? n * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_WAIT_MS) : undefined;
}

function statusFailure(status: number, headers: IncomingHttpHeaders): AttemptError {
  const retriable = status === 408 || status === 429 || status >= 500;
  const after = status === 429 || status === 503 ? retryAfterMs(header(headers, 'retry-after')) : undefined;
  return new AttemptError(`HTTP ${status}`, retriable, status, after);
}

/** Builds one `{name: value}` object from Pulp's list of single-header dicts. */
function headerObject(list: Array<Record<string, string>> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) for (const [k, v] of Object.entries(h ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** URL as shown in messages: without userinfo (credentials never appear in task errors). */
function redact(u: URL): string {
  if (!u.username && !u.password) return u.toString();
  const c = new URL(u.toString());
  c.username = '';
  c.password = '';
  return c.toString();
}

/** Where the next hop of a redirect goes (http and https only). */
function redirectTarget(from: URL, location: string | undefined, hops: number): URL {
  if (!location) throw new AttemptError('redirect without a Location header', false);
  if (hops >= MAX_REDIRECTIONS) throw new AttemptError(`more than ${MAX_REDIRECTIONS} redirects`, false);
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new AttemptError(`redirect to an invalid URL '${location}'`, false);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new AttemptError(`redirect to unsupported scheme '${next.protocol}'`, false);
  return next;
}

type GetOutcome = { kind: 'done' } | { kind: 'redirect'; location: string | undefined };

/**
 * A raw undici dispatch handler for one GET into a FileReceiver: no Readable stream in between,
 * chunks go straight to hashing and the write buffer (the per-file CPU cost matters at 10k+
 * small files). Non-2xx bodies are discarded; disk or hashing back-pressure pauses the socket.
 */
class ReceiveHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private errorBytes = 0;
  private failure: unknown = null;
  private redirect: string | undefined | null = null;
  private sink: FileReceiver | null = null;

  constructor(
    private readonly receiver: () => FileReceiver,
    private readonly expectedSize: number | undefined,
    private readonly settle: (e: unknown, outcome?: GetOutcome) => void,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private onAbort = (): void => {
    this.controller?.abort(abortReason(this.signal!));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(abortReason(this.signal));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    if (statusCode < 200) return; // informational (1xx): the real status follows
    if (REDIRECT_STATUSES.has(statusCode)) {
      this.redirect = header(headers, 'location');
      return;
    }
    if (statusCode > 299 || statusCode === 206) {
      this.failure = statusFailure(statusCode, headers);
      return;
    }
    const length = header(headers, 'content-length');
    const declared = length === undefined ? NaN : Number(length);
    if (this.expectedSize !== undefined && Number.isFinite(declared) && declared !== this.expectedSize) {
      this.failure = new AttemptError(`size mismatch (expected ${this.expectedSize} bytes, server announced ${declared})`, true);
      controller.abort(this.failure as Error);
      return;
    }
    this.sink = this.receiver();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.sink) {
      // Error or redirect bodies: read small ones to keep the connection, drop large ones.
      this.errorBytes += chunk.length;
      if (this.errorBytes > MAX_ERROR_BODY) controller.abort(new Error('error body too large'));
      return;
    }
    let wait: Promise<void> | null;
    try {
      wait = this.sink.push(chunk);
    } catch (e) {
      this.failure = e;
      controller.abort(e as Error);
      return;
    }
    if (wait) {
      controller.pause();
      wait.then(
        () => controller.resume(),
        (e) => {
          this.failure = e;
          controller.abort(e as Error);
        },
      );
    }
  }

  onResponseEnd(): void {
    this.cleanup();
    if (this.failure) this.settle(this.failure);
    else if (this.redirect !== null) this.settle(null, { kind: 'redirect', location: this.redirect });
    else if (!this.sink) this.settle(new AttemptError(`unexpected HTTP ${this.status}`, false, this.status));
    else this.settle(null, { kind: 'done' });
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.cleanup();
    this.settle(this.failure ?? error);
  }

  start(): void {
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private cleanup(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * HTTP(S) and `file://` access configured from one remote: a pooled keep-alive agent (or a proxy
 * agent), `download_concurrency` requests at a time, optional `rate_limit`, the remote's headers,
 * credentials and TLS settings, timeouts, and retries with backoff on 429/5xx, network errors and
 * size/digest mismatches. Downloads are hashed while streaming to a temp file on the media
 * filesystem, verified, and handed to artifact storage in small groups (renames, no copies).
 */
export class RemoteDownloader implements Downloader {
  readonly concurrency: number;
  /** Downloads that can make progress at once: receiving (`concurrency`) plus finishing. */
  readonly maxInFlight: number;
  readonly maxRetries: number;
  private readonly slots: Semaphore;
  private readonly finishing: Semaphore;
  private readonly rate: RateLimiter | null;
  private readonly agent: Agent | ProxyAgent;
  private readonly headers: Record<string, string>;
  private readonly authOrigin: string | null;
  private readonly authHeader: string | null;
  private readonly totalTimeoutMs: number | null;
  private readonly retryBaseMs: number;
  private readonly store: ArtifactStoreBatcher;
  private allowedRoots: Promise<string[]> | null = null;

  constructor(readonly remote: RemoteInfo, private readonly env: DownloaderEnv) {
    this.concurrency = remote.download_concurrency && remote.download_concurrency > 0 ? remote.download_concurrency : DEFAULT_DOWNLOAD_CONCURRENCY;
    this.maxRetries = remote.max_retries !== null && remote.max_retries !== undefined && remote.max_retries >= 0 ? remote.max_retries : DEFAULT_MAX_RETRIES;
    this.slots = new Semaphore(this.concurrency);
    // Finishing = handed over to a file worker (small files wait a few ms to travel in a group).
    this.finishing = new Semaphore(this.concurrency * 8);
    this.maxInFlight = this.concurrency * 9;
    this.rate = remote.rate_limit && remote.rate_limit > 0 ? new RateLimiter(remote.rate_limit) : null;
    this.retryBaseMs = env.retryBaseMs ?? 250;
    this.totalTimeoutMs = seconds(remote.total_timeout);
    this.store = new ArtifactStoreBatcher(env.artifacts, (moves) => env.pool.move(moves));
    this.headers = { 'user-agent': 'pith (pulp-compatible)', ...headerObject(remote.headers) };
    if (remote.username !== null && remote.username !== undefined && remote.username !== '') {
      this.authHeader = 'Basic ' + Buffer.from(`${remote.username}:${remote.password ?? ''}`).toString('base64');
      // Credentials go only to the remote's own origin: a URL (or redirect) elsewhere never gets them.
      this.authOrigin = originOf(remote.url);
    } else {
      this.authHeader = null;
      this.authOrigin = null;
    }

    const connectTimeout = Math.min(seconds(remote.connect_timeout) ?? Infinity, seconds(remote.sock_connect_timeout) ?? Infinity);
    const readTimeout = seconds(remote.sock_read_timeout) ?? DEFAULT_READ_TIMEOUT_S * 1000;
    const tls = {
      rejectUnauthorized: remote.tls_validation !== false,
      ...(remote.ca_cert ? { ca: remote.ca_cert } : {}),
      ...(remote.client_cert ? { cert: remote.client_cert } : {}),
      ...(remote.client_key ? { key: remote.client_key } : {}),
      timeout: Number.isFinite(connectTimeout) ? connectTimeout : DEFAULT_CONNECT_TIMEOUT_S * 1000,
    };
    const poolOptions = {
      // One connection per concurrent request to each origin, kept alive between files.
      connections: this.concurrency,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: readTimeout,
      bodyTimeout: readTimeout,
    };
    if (remote.proxy_url) {
      const token = remote.proxy_username
        ? 'Basic ' + Buffer.from(`${remote.proxy_username}:${remote.proxy_password ?? ''}`).toString('base64')
        : undefined;
      this.agent = new ProxyAgent({ uri: remote.proxy_url, token, requestTls: tls, proxyTls: { timeout: tls.timeout }, ...poolOptions });
    } else {
      this.agent = new Agent({ connect: tls, ...poolOptions });
    }
  }

  /** Digests to compute for a download: every stored one plus any other the caller expects. */
  private algorithmsFor(expected: ExpectedFile): DigestName[] {
    const stored = this.env.artifacts.digests;
    const extra = (Object.keys(expected) as Array<keyof ExpectedFile>).filter((k) => k !== 'size' && expected[k]) as DigestName[];
    // The usual case (only stored digests are declared) needs no new list per file.
    return extra.every((d) => stored.includes(d)) ? stored : normalizeDigestList([...stored, ...extra]);
  }

  /** Resolves a (possibly relative) URL against the remote's URL. */
  resolve(url: string): URL {
    try {
      return new URL(url, this.remote.url);
    } catch {
      throw new DownloadError(url, 'not a valid URL', 1);
    }
  }

  private headersFor(u: URL): Record<string, string> {
    return this.authHeader && u.origin === this.authOrigin ? { ...this.headers, authorization: this.authHeader } : this.headers;
  }

  async open(url: string, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    const u = this.resolve(url);
    if (signal) setMaxListeners(0, signal);
    return this.withRetries(u, signal, async (s) => {
      if (u.protocol === 'file:') return createReadStream(await this.localFile(u), { highWaterMark: 1 << 20 });
      await this.slots.acquire(s);
      let handedOver = false;
      try {
        let target = u;
        for (let hops = 0; ; hops++) {
          this.checkScheme(target);
          if (this.rate) await this.rate.wait(s);
          const res = await this.agent.request({ origin: target.origin, path: target.pathname + target.search, method: 'GET', headers: this.headersFor(target), signal: s });
          if (REDIRECT_STATUSES.has(res.statusCode)) {
            await res.body.dump({ limit: MAX_ERROR_BODY }).catch(() => undefined);
            target = redirectTarget(target, header(res.headers, 'location'), hops);
            continue;
          }
          if (res.statusCode < 200 || res.statusCode > 299 || res.statusCode === 206) {
            await res.body.dump({ limit: MAX_ERROR_BODY }).catch(() => undefined);
            throw statusFailure(res.statusCode, res.headers);
          }
          // The slot is held until the caller has consumed (or dropped) the stream.
          let released = false;
          const release = () => {
            if (!released) {
              released = true;
              this.slots.release();
            }
          };
          res.body.once('close', release);
          res.body.once('end', release);
          res.body.once('error', release);
          handedOver = true;
          return res.body;
        }
      } finally {
        if (!handedOver) this.slots.release();
      }
    });
  }

  async download(url: string, expected: ExpectedDigests = {}, signal?: AbortSignal): Promise<ArtifactInfo> {
    return this.storeFile(await this.fetchVerified(url, expected, signal));
  }

  /**
   * Stores a verified temp file (from `fetchVerified`) as an artifact, grouped with others that
   * finish about the same time; the file is moved or removed in every case.
   */
  storeFile(file: HashedFile): Promise<ArtifactInfo> {
    return this.store.store(file);
  }

  /**
   * Downloads into a temp file on the media filesystem, hashed while streaming and verified
   * against `expected`; retried as configured. The caller owns (and must store or delete) the file.
   */
  async fetchVerified(url: string, expected: ExpectedDigests = {}, signal?: AbortSignal): Promise<HashedFile> {
    const u = this.resolve(url);
    const want = expected as ExpectedFile;
    const algorithms = this.algorithmsFor(want);
    const expectedSize = want.size !== undefined && want.size !== null ? Number(want.size) : undefined;
    if (signal) setMaxListeners(0, signal);
    return this.withRetries(u, signal, async (s) => {
      // A connection slot covers receiving; for small files a finishing slot covers the hand-over
      // to the file worker (grouped with others), so the connection serves the next file meanwhile
      // while the data not yet on disk stays bounded (a slow disk slows the downloads instead).
      await this.slots.acquire(s);
      let connected = true;
      const disconnect = () => {
        if (connected) {
          connected = false;
          this.slots.release();
        }
      };
      let finishing = false;
      let receiver: FileReceiver | null = null;
      // Created with the first successful response (redirect and error answers need none).
      const receive = () => (receiver ??= new FileReceiver(this.env.artifacts.tempPath(), algorithms, want, this.env.pool));
      try {
        if (u.protocol === 'file:') {
          const local = await this.localFile(u);
          const r = receive();
          for await (const chunk of createReadStream(local, { highWaterMark: 1 << 20 })) {
            if (s?.aborted) throw abortReason(s);
            await r.push(chunk as Buffer);
          }
        } else {
          let target = u;
          for (let hops = 0; ; hops++) {
            const outcome = await this.get(target, s, expectedSize, receive);
            if (outcome.kind === 'done') break;
            target = redirectTarget(target, outcome.location, hops);
          }
        }
        if (!receiver) throw new AttemptError('no response body', true);
        const r = receiver as FileReceiver;
        // A streamed (large) file is nearly done in its worker: finish it on the connection slot.
        // A small one waits for its group: free the connection for the next file meanwhile.
        if (r.streaming) return await r.finish();
        await this.finishing.acquire(s);
        finishing = true;
        const done = r.finish();
        disconnect();
        return await done;
      } catch (e) {
        await (receiver as FileReceiver | null)?.discard();
        // Local write failures (disk full, permissions) are not the remote's fault: no retry.
        if (e instanceof ReceiveWorkerError) throw new AttemptError(`could not write a temp file: ${describe(e)}`, false);
        throw e;
      } finally {
        disconnect();
        if (finishing) this.finishing.release();
      }
    });
  }

  private checkScheme(u: URL): void {
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AttemptError(`unsupported URL scheme '${u.protocol}'`, false);
  }

  /** One GET into `receiver` (a 2xx) or a redirect; throws AttemptError for other answers. */
  private async get(u: URL, signal: AbortSignal | undefined, expectedSize: number | undefined, receiver: () => FileReceiver): Promise<GetOutcome> {
    this.checkScheme(u);
    if (this.rate) await this.rate.wait(signal);
    if (signal?.aborted) throw abortReason(signal);
    return new Promise<GetOutcome>((resolve, reject) => {
      const handler = new ReceiveHandler(receiver, expectedSize, (e, outcome) => (e ? reject(e) : resolve(outcome!)), signal);
      handler.start();
      this.agent.dispatch({ origin: u.origin, path: u.pathname + u.search, method: 'GET', headers: this.headersFor(u) }, handler);
    });
  }

  private async withRetries<T>(u: URL, signal: AbortSignal | undefined, attempt: (s: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const shown = redact(u);
    for (let n = 0; ; n++) {
      if (signal?.aborted) throw abortReason(signal);
      const timeout = this.totalTimeoutMs !== null ? AbortSignal.timeout(this.totalTimeoutMs) : null;
      const s = timeout ? (signal ? AbortSignal.any([signal, timeout]) : timeout) : signal;
      try {
        return await attempt(s);
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        let failure: AttemptError;
        if (e instanceof AttemptError) failure = e;
        else if (e instanceof DownloadError) throw e;
        else if (timeout?.aborted) failure = new AttemptError(`timed out after ${this.totalTimeoutMs! / 1000} s (total_timeout)`, true);
        else failure = new AttemptError(describe(e), RETRIABLE_CODES.has(errCode(e) ?? ''));
        if (!failure.retriable || n >= this.maxRetries) throw new DownloadError(shown, failure.reason, n + 1, failure.status);
        const backoff = this.retryBaseMs * 2 ** n * (0.5 + Math.random());
        const wait = Math.min(Math.max(backoff, failure.retryAfterMs ?? 0), MAX_RETRY_WAIT_MS);
        this.env.logger.debug('download attempt failed; retrying', { url: shown, reason: failure.reason, attempt: n + 1, wait_ms: Math.round(wait) });
        await sleep(wait, signal);
      }
    }
  }

  /** Maps a `file://` URL to a real path inside PITH_ALLOWED_IMPORT_PATHS (symlinks resolved). */
  private async localFile(u: URL): Promise<string> {
    let real: string;
    try {
      real = await realpath(fileURLToPath(u));
    } catch (e) {
      throw new AttemptError(errCode(e) === 'ENOENT' ? 'file not found' : describe(e), false);
    }
    this.allowedRoots ??= Promise.all(this.env.allowedImportPaths.map((a) => realpath(path.resolve(a)).catch(() => null))).then(
      (roots) => roots.filter((r): r is string => r !== null),
    );
    const roots = await this.allowedRoots;
    const inside = roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    if (!inside) throw new AttemptError('the path is not under any of the allowed import paths (PITH_ALLOWED_IMPORT_PATHS)', false);
    return real;
  }

  /** Closes the pooled connections (waits for requests in flight). */
  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}
