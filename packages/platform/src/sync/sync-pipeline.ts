import {
  TaskError,
  type ContentStore, type DeclarativeArtifact, type DeclarativeContent, type ExpectedDigests, type ProgressOptions,
  type ProgressReporter, type RepositoryVersionBuilder, type SyncRunOptions, type SyncStats, type UnsavedContent,
  type VersionService,
} from '@pith/plugin-api';
import { setMaxListeners } from 'node:events';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import { digestHexLength, type DigestName } from '../storage/hashing';
import { uuid7 } from '../util/uuid7';
import type { RemoteDownloader } from './remote-downloader';
import { abortReason, Semaphore } from './limiters';

/** Units per pipeline batch: one round of lookups and inserts per batch (DESIGN §5). */
export const SYNC_BATCH = 1000;
/**
 * Batches between the first stage and the version at once: one being committed while the next
 * ones download. Bounds the units held in memory to about SYNC_BATCH × this, whatever the
 * stream's length; bytes in flight are bounded by the downloader's concurrency (files stream to
 * disk and are stored as soon as they are verified).
 */
export const MAX_BATCHES_IN_FLIGHT = 3;

const DIGESTS: DigestName[] = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
/** Digests with a unique index on core_artifact: the only ones used to find existing artifacts. */
const LOOKUP_DIGESTS = ['sha256', 'sha384', 'sha512'] as const;

export interface PipelineEnv {
  db: Db;
  content: ContentStore;
  versions: VersionService;
  logger: Logger;
  /** Whether a content type is registered (units of unknown types fail the sync with a clear message). */
  isContentType(pulpType: string): boolean;
  /** Starts a progress report on the running task (a no-op reporter outside tasks). */
  progress(opts: ProgressOptions): Promise<ProgressReporter>;
}

interface ExistingArtifact {
  pulp_id: string;
  size: string;
  sha224: string | null;
  sha256: string;
  sha384: string | null;
  sha512: string | null;
}

interface Prepared {
  units: DeclarativeContent[];
  /** Normalized expectations per unit and declarative artifact. */
  expected: ExpectedDigests[][];
  /** Artifact id per unit and declarative artifact (null: deferred and not stored yet). */
  artifactIds: Array<Array<string | null>>;
}

async function* inBatches<T>(src: AsyncIterable<T>, size: number, signal: AbortSignal): AsyncGenerator<T[]> {
  let buf: T[] = [];
  for await (const x of src) {
    buf.push(x);
    if (buf.length >= size) {
      if (signal.aborted) throw abortReason(signal);
      yield buf;
      buf = [];
    }
  }
  if (buf.length) yield buf;
}

/** Expected digests, lowercased and checked (a malformed digest from upstream fails the sync at once). */
function normalizeExpected(a: DeclarativeArtifact): ExpectedDigests {
  const out: ExpectedDigests = {};
  const e = a.expected ?? {};
  for (const d of DIGESTS) {
    const v = e[d];
    if (v === undefined || v === null || v === '') continue;
    const s = String(v).toLowerCase();
    if (s.length !== digestHexLength(d) || !/^[0-9a-f]+$/.test(s)) {
      throw new TaskError(`Invalid ${d} '${String(v)}' declared for ${a.url}.`);
    }
    out[d] = s;
  }
  if (e.size !== undefined && e.size !== null) {
    const n = Number(e.size);
    if (!Number.isSafeInteger(n) || n < 0) throw new TaskError(`Invalid size '${String(e.size)}' declared for ${a.url}.`);
    out.size = n;
  }
  return out;
}

/** Relative paths end up in publications, exports and served URLs: no absolute or `..` paths. */
function checkRelativePath(p: string, url: string): void {
  if (typeof p !== 'string' || p === '' || p.length > 4096 || p.startsWith('/') || p.includes('\0') || p.includes('\\') ||
      p.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new TaskError(`Invalid relative path '${String(p)}' declared for ${url}.`);
  }
}

/**
 * One run of the standard sync pipeline (pulp's DeclarativeVersion, reference §6) into a new
 * version built by `build`: batches from the first stage → existing artifacts (one query) →
 * downloads (bounded by the downloader) → content (natural-key dedupe) → remote artifacts
 * (batched upsert) → association; for mirror syncs the units never seen are removed at the end
 * in SQL. Any failure aborts the downloads in flight and discards the version.
 */
export class SyncPipeline {
  private readonly abort = new AbortController();
  private readonly inflight = new Map<string, Promise<string>>();
  /** Everything in flight (downloads, saves, links), each until it settles. */
  private readonly work = new Set<Promise<unknown>>();
  private downloadReport!: ProgressReporter;
  private associateReport!: ProgressReporter;
  /** Downloads handed to the downloader at once: what it can work on plus a few ready to start. */
  private readonly queue: Semaphore;
  /** Batches linked at once (each uses up to three pooled connections). */
  private readonly linking = new Semaphore(2);
  private seen = 0;
  private downloaded = 0;
  private added = 0;
  private removed = 0;

  constructor(
    private readonly env: PipelineEnv,
    private readonly downloader: RemoteDownloader,
    private readonly opts: SyncRunOptions,
  ) {
    this.queue = new Semaphore(downloader.maxInFlight + downloader.concurrency);
    // The pipeline's own signal: every download in flight listens to it.
    setMaxListeners(0, this.abort.signal);
  }

  private readonly onOuterAbort = (): void => this.abort.abort(this.opts.signal?.reason);

  async run(firstStage: AsyncIterable<DeclarativeContent>): Promise<SyncStats> {
    const outer = this.opts.signal;
    if (outer?.aborted) throw abortReason(outer);
    outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    let version;
    try {
      this.downloadReport = await this.env.progress({ message: 'Downloading Artifacts', code: 'sync.downloading.artifacts', total: null });
      this.associateReport = await this.env.progress({ message: 'Associating Content', code: 'associating.content', total: null });
      version = await this.env.versions.create(this.opts.repositoryId, (builder) => this.build(builder, firstStage));
    } finally {
      outer?.removeEventListener('abort', this.onOuterAbort);
    }
    await this.downloadReport.done();
    await this.associateReport.done();
    return {
      version,
      contentSeen: this.seen,
      artifactsDownloaded: this.downloaded,
      contentAdded: this.added,
      contentRemoved: this.removed,
    };
  }

  private async build(builder: RepositoryVersionBuilder, firstStage: AsyncIterable<DeclarativeContent>): Promise<void> {
    const signal = this.abort.signal;
    let failure: { error: unknown } | null = null;
    // Set while waiting for the first stage, so a failure elsewhere ends that wait at once. (Not a
    // race against one long-lived promise: every race would stay attached to it, batch and all.)
    let interruptWait: ((e: unknown) => void) | null = null;
    const fail = (e: unknown) => {
      if (failure) return;
      failure = { error: e };
      this.abort.abort(e);
      interruptWait?.(e);
    };
    const window: Array<Promise<void>> = [];
    // Content is saved one batch at a time, in order (natural-key inserts of overlapping batches
    // could deadlock); linking a saved batch (remote artifacts, version membership) touches only
    // its own rows, so it runs as soon as its batch is saved, alongside the next saves.
    let saving: Promise<unknown> = Promise.resolve();
    const batches = inBatches(firstStage, SYNC_BATCH, signal);
    try {
      for (;;) {
        const next = batches.next();
        next.catch(() => undefined);
        const step = await new Promise<IteratorResult<DeclarativeContent[]>>((resolve, reject) => {
          interruptWait = reject;
          next.then(resolve, reject);
        });
        interruptWait = null;
        if (step.done) break;
        const units = step.value;
        const prepared = this.prepare(units);
        prepared.catch(fail);
        const saved = saving.then(() => prepared).then((p) => this.save(p));
        saved.catch(fail);
        this.track(saved);
        saving = saved;
        const linked = saved.then(async (s) => {
          await this.linking.acquire();
          try {
            await this.link(s.prepared, s.ids, builder);
          } finally {
            this.linking.release();
          }
        });
        linked.catch(fail);
        this.track(linked);
        window.push(linked);
        while (window.length >= MAX_BATCHES_IN_FLIGHT) await window.shift()!.catch(() => undefined);
        if (failure) break;
      }
      if (!failure) await Promise.all(window);
      if (!failure && this.opts.mirror) {
        if (signal.aborted) throw abortReason(signal);
        this.removed = await builder.removeUnseen();
        if (this.removed > 0) {
          const r = await this.env.progress({ message: 'Un-Associating Content', code: 'unassociating.content', total: this.removed });
          r.increment(this.removed);
          await r.done();
        }
      }
    } catch (e) {
      fail(e);
    } finally {
      if (failure) {
        // Let the first stage clean up (it ends at its next yield), without waiting for it.
        batches.return(undefined).catch(() => undefined);
        // Nothing of ours may keep running (storing, saving, linking) after the task has failed:
        // the version is discarded next, and a late write must not land in it.
        await Promise.allSettled([...window, ...this.work]);
      }
    }
    if (failure) throw (failure as { error: unknown }).error;
  }

  /** Keeps `p` in `work` until it settles; resolves (never rejects) when it has. */
  private track(p: Promise<unknown>): Promise<void> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.work.add(settled);
    void settled.then(() => this.work.delete(settled));
    return settled;
  }

  /** Finds existing artifacts and downloads the missing immediate ones. */
  private async prepare(units: DeclarativeContent[]): Promise<Prepared> {
    const signal = this.abort.signal;
    const expected = units.map((u) => {
      if (!this.env.isContentType(u.pulpType)) throw new TaskError(`Unknown content type '${String(u.pulpType)}' in the sync stream.`);
      return (u.artifacts ?? []).map((a) => {
        checkRelativePath(a.relativePath, a.url);
        return normalizeExpected(a);
      });
    });
    const existing = await this.findArtifacts(expected.flat());
    const artifactIds: Array<Array<string | null>> = units.map((u) => new Array((u.artifacts ?? []).length).fill(null));
    const waits: Array<Promise<void>> = [];
    units.forEach((u, i) => {
      (u.artifacts ?? []).forEach((a, j) => {
        const want = expected[i]![j]!;
        const found = existing(want);
        if (found) artifactIds[i]![j] = found;
        else if (!a.deferred) waits.push(this.fetch(a.url, want).then((id) => void (artifactIds[i]![j] = id)));
      });
    });
    if (signal.aborted) throw abortReason(signal);
    await Promise.all(waits);
    return { units, expected, artifactIds };
  }

  /** One download per artifact identity, shared by every unit (in any batch in flight) that needs it. */
  private fetch(url: string, want: ExpectedDigests): Promise<string> {
    const key = want.sha256 ?? want.sha512 ?? want.sha384 ?? `url:${url}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = (async () => {
        // Waiting here registers nothing on the abort signal (thousands of queued downloads would).
        await this.queue.acquire();
        let file;
        try {
          if (this.abort.signal.aborted) throw abortReason(this.abort.signal);
          file = await this.downloader.fetchVerified(url, want, this.abort.signal);
        } finally {
          this.queue.release();
        }
        const info = await this.downloader.storeFile(file);
        this.downloaded++;
        this.downloadReport.increment();
        return info.pulp_id;
      })();
      this.track(p).then(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /**
   * Looks up stored artifacts for a batch in one query (by the indexed digests) and touches them
   * (orphan protection). Returns a matcher: an artifact counts as present only if every digest
   * and the size it was declared with agree with the stored row.
   */
  private async findArtifacts(all: ExpectedDigests[]): Promise<(e: ExpectedDigests) => string | null> {
    const wanted: Record<(typeof LOOKUP_DIGESTS)[number], Set<string>> = { sha256: new Set(), sha384: new Set(), sha512: new Set() };
    for (const e of all) for (const d of LOOKUP_DIGESTS) if (e[d]) wanted[d].add(e[d]!);
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const d of LOOKUP_DIGESTS) {
      if (!wanted[d].size) continue;
      params.push([...wanted[d]]);
      clauses.push(`${d} = ANY($${params.length}::text[])`);
    }
    if (!clauses.length) return () => null;
    const rows = await this.env.db.query<ExistingArtifact>(
      `SELECT pulp_id, size, sha224, sha256, sha384, sha512 FROM core_artifact WHERE ${clauses.join(' OR ')}`,
      params,
    );
    if (rows.length) {
      // Same pattern as content touches: ordered, skipping rows a concurrent toucher holds.
      await this.env.db.query(
        `UPDATE core_artifact SET timestamp_of_interest = now()
          WHERE pulp_id IN (SELECT pulp_id FROM core_artifact
                             WHERE pulp_id = ANY($1::uuid[]) AND timestamp_of_interest < now() - interval '1 minute'
                             ORDER BY pulp_id FOR NO KEY UPDATE SKIP LOCKED)`,
        [rows.map((r) => r.pulp_id)],
      );
    }
    const index = new Map<string, ExistingArtifact>();
    for (const r of rows) for (const d of LOOKUP_DIGESTS) if (r[d]) index.set(`${d}:${r[d]}`, r);
    return (e) => {
      let row: ExistingArtifact | undefined;
      for (const d of LOOKUP_DIGESTS) if (!row && e[d]) row = index.get(`${d}:${e[d]}`);
      if (!row) return null;
      if (e.size !== undefined && Number(row.size) !== e.size) return null;
      for (const d of ['sha224', ...LOOKUP_DIGESTS] as const) if (e[d] && row[d] && row[d] !== e[d]) return null;
      return row.pulp_id;
    };
  }

  /** Saves a batch's content (natural-key dedupe; content artifacts with or without artifact). */
  private async save(p: Prepared): Promise<{ prepared: Prepared; ids: string[] }> {
    if (this.abort.signal.aborted) throw abortReason(this.abort.signal);
    const unsaved: UnsavedContent[] = p.units.map((u, i) => ({
      pulpType: u.pulpType,
      detail: u.detail,
      pulpLabels: u.pulpLabels,
      artifacts: (u.artifacts ?? []).map((a, j) => ({ relativePath: a.relativePath, artifactId: p.artifactIds[i]![j]! })),
    }));
    return { prepared: p, ids: await this.env.content.saveBatch(unsaved) };
  }

  /** Records a saved batch's remote artifacts and adds it to the version (independent writes, run together). */
  private async link(p: Prepared, ids: string[], builder: RepositoryVersionBuilder): Promise<void> {
    if (this.abort.signal.aborted) throw abortReason(this.abort.signal);
    // allSettled: on failure none of these may still be writing when the version is discarded.
    const [ras, added, seen] = await Promise.allSettled([
      this.saveRemoteArtifacts(p, ids),
      builder.add(ids),
      this.opts.mirror ? builder.markSeen(ids) : undefined,
    ]);
    for (const r of [ras, added, seen]) if (r.status === 'rejected') throw r.reason;
    const n = (added as PromiseFulfilledResult<number>).value;
    this.added += n;
    this.associateReport.increment(n);
    this.seen += p.units.length;
  }

  /** The URL a remote artifact records: as given when already absolute (the common case, and cheap). */
  private absoluteUrl(url: string): string {
    return /^https?:\/\/[^\s]*$/i.test(url) ? url : this.downloader.resolve(url).toString();
  }

  /** Upserts one remote artifact per content artifact and remote (url, expected size and digests). */
  private async saveRemoteArtifacts(p: Prepared, ids: string[]): Promise<void> {
    const rows = new Map<string, Record<string, unknown>>();
    p.units.forEach((u, i) => {
      for (const [j, a] of (u.artifacts ?? []).entries()) {
        const key = `${ids[i]}\n${a.relativePath}`;
        if (rows.has(key)) continue;
        const e = p.expected[i]![j]!;
        rows.set(key, {
          id: uuid7(), c: ids[i], p: a.relativePath, url: this.absoluteUrl(a.url), size: e.size ?? null,
          md5: e.md5 ?? null, sha1: e.sha1 ?? null, sha224: e.sha224 ?? null, sha256: e.sha256 ?? null, sha384: e.sha384 ?? null, sha512: e.sha512 ?? null,
        });
      }
    });
    if (!rows.size) return;
    const cols = ['url', 'size', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
    await this.env.db.query(
      `INSERT INTO core_remoteartifact (pulp_id, url, size, md5, sha1, sha224, sha256, sha384, sha512, content_artifact_id, remote_id)
       SELECT x.id, x.url, x.size, x.md5, x.sha1, x.sha224, x.sha256, x.sha384, x.sha512, ca.pulp_id, $2
         FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, c uuid, p text, url text, size bigint, md5 text, sha1 text,
                                                 sha224 text, sha256 text, sha384 text, sha512 text)
         JOIN core_contentartifact ca ON ca.content_id = x.c AND ca.relative_path = x.p
        ORDER BY ca.pulp_id
       ON CONFLICT (content_artifact_id, remote_id) DO UPDATE
          SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, failed_at = NULL, pulp_last_updated = now()
        WHERE (${cols.map((c) => `core_remoteartifact.${c}`).join(', ')}) IS DISTINCT FROM (${cols.map((c) => `EXCLUDED.${c}`).join(', ')})`,
      [JSON.stringify([...rows.values()]), this.opts.remote.pulp_id],
    );
  }
}
