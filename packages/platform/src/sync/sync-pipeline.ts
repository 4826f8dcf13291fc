import {
  TaskError,
  type ContentStore, type DeclarativeArtifact, type DeclarativeContent, type ExpectedDigests, type ProgressOptions,
  type ProgressReporter, type RepositoryVersionBuilder, type SyncRunOptions, type SyncStats, type UnsavedContent,
  type VersionService,
} from '@pith/plugin-api';
import { setMaxListeners } from 'node:events';
import type { ContentStoreService } from '../content/content-store.service';
import { probeQuery, relaxCommit } from '../db/bulk-sql';
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
  /** Saves content; its natural-key lookup lets a re-sync recognise unchanged units cheaply. */
  content: ContentStore & Pick<ContentStoreService, 'naturalKeyLookup' | 'saveBatch'>;
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
  /**
   * Content id of each unit that is already in the repository exactly as declared (see
   * `findSettled`), null for the others: settled units skip downloads, saving and linking.
   */
  settled: Array<string | null>;
}

/** Row of `findSettled`: one declarative artifact (or an artifact-less unit) that checked out. */
interface SettledRow {
  i: number;
  c: string;
  content_stale: boolean;
  artifact_id: string | null;
  artifact_stale: boolean | null;
}

/** Columns of a remote artifact compared by `remoteFingerprint` (and by the upsert's change check). */
const RA_COLUMNS = ['url', 'size', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

/**
 * What a remote artifact row holds, as one text: the same text is built in SQL from the stored
 * row (`concat_ws` over RA_COLUMNS, nulls as ''), so one value per artifact tells whether the row
 * is unchanged. Unambiguous: urls hold no newline (absoluteUrl) and the other fields are hex or
 * decimal.
 */
function remoteFingerprint(url: string, e: ExpectedDigests): string {
  return `${url}\n${e.size ?? ''}\n${e.md5 ?? ''}\n${e.sha1 ?? ''}\n${e.sha224 ?? ''}\n${e.sha256 ?? ''}\n${e.sha384 ?? ''}\n${e.sha512 ?? ''}`;
}
const RA_FINGERPRINT_SQL = (ra: string) =>
  `concat_ws(E'\\n', ${RA_COLUMNS.map((c) => (c === 'url' ? `${ra}.url` : `coalesce(${ra}.${c}::text, '')`)).join(', ')})`;

/**
 * Touches rows for orphan protection: ordered, skipping rows touched lately or locked by a
 * concurrent toucher. Run through probeQuery: left to itself the planner hash-joins the whole
 * table against the batch.
 */
const TOUCH_SQL = (table: 'core_content' | 'core_artifact') =>
  `UPDATE ${table} SET timestamp_of_interest = now()
    WHERE pulp_id IN (SELECT pulp_id FROM ${table}
                       WHERE pulp_id = ANY($1::uuid[]) AND timestamp_of_interest < now() - interval '1 minute'
                       ORDER BY pulp_id FOR NO KEY UPDATE SKIP LOCKED)`;

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

const HEX = /^[0-9a-f]+$/;
/** A `.` or `..` path segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** Expected digests, lowercased and checked (a malformed digest from upstream fails the sync at once). */
function normalizeExpected(a: DeclarativeArtifact): ExpectedDigests {
  const out: ExpectedDigests = {};
  const e = a.expected ?? {};
  for (const d of DIGESTS) {
    const v = e[d];
    if (v === undefined || v === null || v === '') continue;
    const s = String(v).toLowerCase();
    if (s.length !== digestHexLength(d) || !HEX.test(s)) {
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
      DOT_SEGMENT.test(p)) {
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
  /** Whether the repository had content when the sync started (else no unit can be settled). */
  private lookForSettled = false;
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
    await Promise.all([this.downloadReport.done(), this.associateReport.done()]);
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
    // A first sync into an empty repository skips the settled-unit lookups altogether.
    const [open] = await this.env.db.query<{ any: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM core_repositorycontent WHERE repository_id = $1 AND version_removed IS NULL) AS any',
      [this.opts.repositoryId],
    );
    this.lookForSettled = !!open?.any;
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
    const settled = this.lookForSettled ? await this.findSettled(units, expected) : new Array<string | null>(units.length).fill(null);
    const existing = await this.findArtifacts(expected.filter((_, i) => settled[i] === null).flat());
    const artifactIds: Array<Array<string | null>> = units.map((u) => new Array((u.artifacts ?? []).length).fill(null));
    const waits: Array<Promise<void>> = [];
    units.forEach((u, i) => {
      if (settled[i] !== null) return;
      (u.artifacts ?? []).forEach((a, j) => {
        const want = expected[i]![j]!;
        const found = existing(want);
        if (found) artifactIds[i]![j] = found;
        else if (!a.deferred) waits.push(this.fetch(a.url, want).then((id) => void (artifactIds[i]![j] = id)));
      });
    });
    if (signal.aborted) throw abortReason(signal);
    await Promise.all(waits);
    return { units, expected, artifactIds, settled };
  }

  /**
   * Recognises the units of a batch that need no work: the unit exists (natural key), is in the
   * repository now (an open membership row, so adding it would change nothing), every declared
   * artifact is stored for it under the declared relative path, and this remote's remote
   * artifact for it holds exactly what is declared now (url, size, digests). Anything else (a
   * new or changed unit, a deferred artifact not downloaded yet, a different remote) takes the
   * full path. One read per batch (and content type) instead of artifact lookups, a content save,
   * a remote-artifact upsert and a membership insert. The units and their artifacts are touched
   * when due, as the full path would (orphan protection, `orphaned_for`). Returns the content id
   * per settled unit.
   */
  private async findSettled(units: DeclarativeContent[], expected: ExpectedDigests[][]): Promise<Array<string | null>> {
    const out: Array<string | null> = new Array(units.length).fill(null);
    const byType = new Map<string, number[]>();
    units.forEach((u, i) => {
      const list = byType.get(u.pulpType);
      if (list) list.push(i);
      else byType.set(u.pulpType, [i]);
    });
    const staleContent = new Set<string>();
    const staleArtifacts = new Set<string>();
    for (const [pulpType, positions] of byType) {
      const key = await this.env.content.naturalKeyLookup(pulpType);
      if (!key) continue;
      // One record per declared artifact (natural key, p: relative path, f: remoteFingerprint), or
      // one without p for an artifact-less unit. JSON: one native stringify, no per-element array
      // escaping; read as json (not jsonb), which the server parses once instead of building a
      // jsonb value first.
      const records: Array<Record<string, unknown>> = [];
      const wantRows = new Map<number, number>();
      for (const i of positions) {
        const k = key.values(units[i]!.detail);
        if (!k) continue;
        const arts = units[i]!.artifacts ?? [];
        if (!arts.length) records.push({ i, ...k });
        arts.forEach((a, j) => records.push({ i, ...k, p: a.relativePath, f: remoteFingerprint(this.absoluteUrl(a.url), expected[i]![j]!) }));
        wantRows.set(i, Math.max(arts.length, 1));
      }
      if (!records.length) continue;
      // Per-row index probes whatever the statistics say (db/bulk-sql.ts; right after a large first
      // sync they are missing, and plans reading a whole table per key or per batch were seen).
      // Scalar subqueries on full unique keys leave the planner no cheaper-looking partial index
      // (remote_id alone, or repository_id with version_removed) to scan once per key.
      const rows = await probeQuery<SettledRow>(
        this.env.db,
        `SELECT x.i, u.id AS c, (SELECT c.timestamp_of_interest < now() - interval '1 minute' FROM core_content c WHERE c.pulp_id = u.id) AS content_stale,
                a.artifact_id, a.artifact_stale
           FROM json_to_recordset($2::json) AS x(i int, ${key.columns}, p text, f text)
          CROSS JOIN LATERAL (${key.idSql('x')}) u
           LEFT JOIN LATERAL (
                SELECT ar.pulp_id AS artifact_id, ar.timestamp_of_interest < now() - interval '1 minute' AS artifact_stale
                  FROM core_contentartifact ca JOIN core_artifact ar ON ar.pulp_id = ca.artifact_id
                 WHERE ca.content_id = u.id AND ca.relative_path = x.p
                   AND (SELECT ${RA_FINGERPRINT_SQL('ra')} FROM core_remoteartifact ra
                         WHERE ra.content_artifact_id = ca.pulp_id AND ra.remote_id = $3) = x.f
                 LIMIT 1) a ON true
          WHERE (SELECT bool_or(rc.version_removed IS NULL) FROM core_repositorycontent rc
                  WHERE rc.repository_id = $1 AND rc.content_id = u.id)
            AND (x.p IS NULL OR a.artifact_id IS NOT NULL)`,
        [this.opts.repositoryId, JSON.stringify(records), this.opts.remote.pulp_id],
      );
      const got = new Map<number, number>();
      for (const r of rows) got.set(r.i, (got.get(r.i) ?? 0) + 1);
      for (const r of rows) {
        if (got.get(r.i) !== wantRows.get(r.i)) continue;
        out[r.i] = r.c;
        if (r.content_stale) staleContent.add(r.c);
        if (r.artifact_stale && r.artifact_id) staleArtifacts.add(r.artifact_id);
      }
    }
    if (staleContent.size) await probeQuery(this.env.db, TOUCH_SQL('core_content'), [[...staleContent]]);
    if (staleArtifacts.size) await probeQuery(this.env.db, TOUCH_SQL('core_artifact'), [[...staleArtifacts]]);
    return out;
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
      await probeQuery(this.env.db, TOUCH_SQL('core_artifact'), [rows.map((r) => r.pulp_id)]);
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
    const positions: number[] = [];
    const unsaved: UnsavedContent[] = [];
    p.units.forEach((u, i) => {
      if (p.settled[i] !== null) return;
      positions.push(i);
      unsaved.push({
        pulpType: u.pulpType,
        detail: u.detail,
        pulpLabels: u.pulpLabels,
        artifacts: (u.artifacts ?? []).map((a, j) => ({ relativePath: a.relativePath, artifactId: p.artifactIds[i]![j]! })),
      });
    });
    const ids = p.settled.slice() as string[];
    if (unsaved.length) {
      // The version this feeds commits synchronously when complete (db/bulk-sql.ts relaxCommit).
      const saved = await this.env.content.saveBatch(unsaved, { relaxedCommit: true });
      positions.forEach((at, k) => (ids[at] = saved[k]!));
    }
    return { prepared: p, ids };
  }

  /** Records a saved batch's remote artifacts and adds it to the version (independent writes, run together). */
  private async link(p: Prepared, ids: string[], builder: RepositoryVersionBuilder): Promise<void> {
    if (this.abort.signal.aborted) throw abortReason(this.abort.signal);
    // Settled units are in the repository already, with unchanged remote artifacts.
    const fresh = ids.filter((_, i) => p.settled[i] === null);
    // allSettled: on failure none of these may still be writing when the version is discarded.
    const [ras, added, seen] = await Promise.allSettled([
      this.saveRemoteArtifacts(p, ids),
      fresh.length ? builder.add(fresh) : 0,
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
      if (p.settled[i] !== null) return;
      for (const [j, a] of (u.artifacts ?? []).entries()) {
        const key = `${ids[i]}\n${a.relativePath}`;
        if (rows.has(key)) continue;
        const e = p.expected[i]![j]!;
        // Size and digests as declared; absent ones are left out of the JSON (null in the recordset).
        rows.set(key, { id: uuid7(), c: ids[i], p: a.relativePath, url: this.absoluteUrl(a.url), ...e });
      }
    });
    if (!rows.size) return;
    const cols = RA_COLUMNS;
    const sql = `INSERT INTO core_remoteartifact (pulp_id, url, size, md5, sha1, sha224, sha256, sha384, sha512, content_artifact_id, remote_id)
       SELECT x.id, x.url, x.size, x.md5, x.sha1, x.sha224, x.sha256, x.sha384, x.sha512, ca.pulp_id, $2
         FROM json_to_recordset($1::json) AS x(id uuid, c uuid, p text, url text, size bigint, md5 text, sha1 text,
                                                sha224 text, sha256 text, sha384 text, sha512 text)
        -- A probe per row (LIMIT 1): a hash join would read every content artifact per batch.
        CROSS JOIN LATERAL (SELECT pulp_id FROM core_contentartifact WHERE content_id = x.c AND relative_path = x.p LIMIT 1) ca
        ORDER BY ca.pulp_id
       ON CONFLICT (content_artifact_id, remote_id) DO UPDATE
          SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, failed_at = NULL, pulp_last_updated = now()
        WHERE (${cols.map((c) => `core_remoteartifact.${c}`).join(', ')}) IS DISTINCT FROM (${cols.map((c) => `EXCLUDED.${c}`).join(', ')})`;
    await this.env.db.transaction(async (tx) => {
      await relaxCommit(tx); // an intermediate write of the sync task (db/bulk-sql.ts)
      await tx.query(sql, [JSON.stringify([...rows.values()]), this.opts.remote.pulp_id]);
    });
  }
}
