import type { ArtifactInfo, ArtifactStore, Row } from '@pith/plugin-api';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { relaxCommit } from '../db/bulk-sql';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { ReceivedFile } from '../http/multipart';
import { uuid7 } from '../util/uuid7';
import { ArtifactExistsError, ArtifactVerificationError } from './artifact-verification.error';
import {
  artifactStorageName, findMismatch, hashFile, MultiHasher, normalizeDigestList,
  type DigestName, type Digests, type ExpectedFile,
} from './hashing';

/** A hashed file on the media filesystem, not yet in storage. */
export interface HashedFile {
  path: string;
  size: number;
  digests: Digests;
}

export interface StoreOptions {
  /** Fail with ArtifactExistsError instead of reusing an artifact with the same sha256 (Pulp's artifacts API). */
  rejectExisting?: boolean;
}

/** Full `core_artifact` row as the API serializes it. */
export interface ArtifactRow extends ArtifactInfo {
  pulp_created: Date;
  pulp_last_updated: Date;
  timestamp_of_interest: Date;
}

const ARTIFACT_COLUMNS = 'pulp_id, pulp_created, pulp_last_updated, file, size, md5, sha1, sha224, sha256, sha384, sha512, timestamp_of_interest';
/** What a sync needs back from storing (no timestamps to parse for thousands of rows). */
const ARTIFACT_INFO_COLUMNS = 'pulp_id, file, size, md5, sha1, sha224, sha256, sha384, sha512';

function toArtifactInfo(r: Row): ArtifactInfo {
  return {
    pulp_id: r.pulp_id, file: r.file, size: Number(r.size), md5: r.md5 ?? null, sha1: r.sha1 ?? null, sha224: r.sha224 ?? null,
    sha256: r.sha256, sha384: r.sha384 ?? null, sha512: r.sha512 ?? null,
  };
}

/**
 * Advisory-lock key SQL for one sha256. Storing a file and deleting an unreferenced file both take
 * it, so orphan cleanup can never unlink a file that a concurrent save has just (re)created.
 */
const LOCK_SQL = (param: string) => `pg_advisory_xact_lock(hashtextextended('pith.artifact:' || ${param}, 0))`;

export function toArtifactRow(r: Row): ArtifactRow {
  return {
    pulp_id: r.pulp_id,
    pulp_created: r.pulp_created,
    pulp_last_updated: r.pulp_last_updated,
    timestamp_of_interest: r.timestamp_of_interest,
    file: r.file,
    size: Number(r.size),
    md5: r.md5 ?? null,
    sha1: r.sha1 ?? null,
    sha224: r.sha224 ?? null,
    sha256: r.sha256,
    sha384: r.sha384 ?? null,
    sha512: r.sha512 ?? null,
  };
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

async function unlinkQuiet(p: string): Promise<void> {
  await unlink(p).catch((e) => {
    if (!isErrno(e, 'ENOENT')) throw e;
  });
}

/** Moves temp files into the artifact tree; one result per move (null = done). */
export type FileMover = (moves: Array<{ from: string; to: string }>) => Promise<Array<Error | null>>;

const renameEach: FileMover = (moves) => Promise.all(moves.map((m) => renameInto(m.from, m.to).then(() => null, (e: Error) => e)));

/** Renames into the artifact tree, creating the `<2 hex>` directory only when it is missing. */
async function renameInto(from: string, dest: string): Promise<void> {
  try {
    await rename(from, dest);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(from, dest);
  }
}

/**
 * Filesystem artifact storage: content-addressed files under `<mediaRoot>/artifact/`, temp files
 * under `<mediaRoot>/tmp/` (same filesystem, so the final rename is atomic). Every file is hashed
 * once with all configured digests, verified, and only then renamed into place and recorded in
 * `core_artifact`; an artifact that already exists (same sha256) is reused and touched.
 */
export class ArtifactStorageService implements ArtifactStore {
  /** Digests stored for every artifact (PITH_ALLOWED_CONTENT_CHECKSUMS, canonical order). */
  readonly digests: DigestName[];
  private readonly root: string;

  constructor(
    private readonly db: Db,
    mediaRoot: string,
    allowedChecksums: readonly string[],
    private readonly logger: Logger,
  ) {
    this.root = path.resolve(mediaRoot);
    this.digests = normalizeDigestList(allowedChecksums);
    // Created once at boot so every temp-file writer can assume the directories exist.
    for (const dir of ['tmp', 'artifact', 'upload']) mkdirSync(path.join(this.root, dir), { recursive: true });
  }

  get mediaRoot(): string {
    return this.root;
  }

  tempPath(): string {
    return `${this.root}${path.sep}tmp${path.sep}${randomUUID()}`;
  }

  localPath(file: string): string {
    const abs = path.resolve(this.root, file);
    if (!abs.startsWith(this.root + path.sep)) throw new Error(`storage name escapes the media root: ${file}`);
    return abs;
  }

  openRead(file: string, range?: { start: number; end: number }): NodeJS.ReadableStream {
    return createReadStream(this.localPath(file), range ? { start: range.start, end: range.end, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 });
  }

  /** Digests that are not stored but were asked for verification are computed as well. */
  private algorithmsFor(expected?: ExpectedFile): DigestName[] {
    const extra = expected ? (Object.keys(expected).filter((k) => k !== 'size' && expected[k as DigestName]) as DigestName[]) : [];
    return normalizeDigestList([...this.digests, ...extra]);
  }

  async saveStream(src: NodeJS.ReadableStream, expected?: ExpectedFile): Promise<ArtifactInfo> {
    const tmp = this.tempPath();
    const hasher = new MultiHasher(this.algorithmsFor(expected));
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hasher.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(src, tap, createWriteStream(tmp));
      return await this.storeVerified({ path: tmp, size: hasher.size, digests: hasher.digest() }, expected);
    } finally {
      await unlinkQuiet(tmp);
    }
  }

  /** Hashes `tempPath` and moves it into storage; the temp file is gone afterwards either way. */
  async saveFile(tempPath: string, expected?: ExpectedFile): Promise<ArtifactInfo> {
    try {
      const hashed = await hashFile(tempPath, this.algorithmsFor(expected));
      return await this.storeVerified({ path: tempPath, ...hashed }, expected);
    } finally {
      await unlinkQuiet(tempPath);
    }
  }

  /**
   * Stores a multipart file the HTTP layer already hashed while receiving it (re-hashing only if a
   * needed digest is missing). The received temp file is moved, not copied.
   */
  async saveReceived(file: ReceivedFile, expected?: ExpectedFile, opts: StoreOptions = {}): Promise<ArtifactRow> {
    try {
      let hashed: HashedFile = { path: file.path, size: file.size, digests: file.digests };
      const needed = this.algorithmsFor(expected);
      if (needed.some((d) => !file.digests[d])) hashed = { path: file.path, ...(await hashFile(file.path, needed)) };
      return await this.storeVerified(hashed, expected, opts);
    } finally {
      await unlinkQuiet(file.path);
    }
  }

  /** Hashes a file with every stored digest (e.g. an assembled upload) without moving it. */
  async hashFile(file: string): Promise<{ size: number; digests: Digests }> {
    return hashFile(file, this.digests);
  }

  private async storeVerified(hashed: HashedFile, expected?: ExpectedFile, opts: StoreOptions = {}): Promise<ArtifactRow> {
    const bad = findMismatch(hashed, expected);
    if (bad) throw new ArtifactVerificationError(bad.field, bad.message, bad.expected, bad.actual);
    return this.storeHashed(hashed, opts);
  }

  /**
   * Moves an already hashed and verified file into storage and records it. If an artifact with the
   * same sha256 exists its row is reused (timestamp_of_interest bumped) and the file dropped, unless
   * the stored file went missing, in which case this copy restores it.
   */
  async storeHashed(hashed: HashedFile, opts: StoreOptions = {}): Promise<ArtifactRow> {
    const digests: Digests = {};
    for (const d of this.digests) {
      const v = hashed.digests[d];
      if (!v) throw new Error(`digest ${d} missing for ${hashed.path}`);
      digests[d] = v;
    }
    const sha256 = digests.sha256!;
    const file = artifactStorageName(sha256);
    const dest = this.localPath(file);
    await mkdir(path.dirname(dest), { recursive: true });
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT ${LOCK_SQL('$1')}`, [sha256]);
      const existing = await tx.one(
        `UPDATE core_artifact SET timestamp_of_interest = now() WHERE sha256 = $1 RETURNING ${ARTIFACT_COLUMNS}`,
        [sha256],
      );
      if (existing && opts.rejectExisting) {
        // The touch above is rolled back with this error: a refused duplicate does not protect it.
        throw new ArtifactExistsError('sha256', sha256, existing.pulp_id);
      }
      if (existing) {
        const present = await stat(dest).then((s) => s.size === Number(existing.size), () => false);
        if (present) await unlinkQuiet(hashed.path);
        else {
          this.logger.warn('stored artifact file was missing or damaged; restored it from a new copy', { sha256 });
          await rename(hashed.path, dest);
        }
        return toArtifactRow(existing);
      }
      // Same sha256 means same bytes: replacing a stray file left at `dest` is harmless.
      await rename(hashed.path, dest);
      try {
        const row = await tx.one(
          `INSERT INTO core_artifact (pulp_id, file, size, md5, sha1, sha224, sha256, sha384, sha512)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${ARTIFACT_COLUMNS}`,
          [uuid7(), file, hashed.size, digests.md5 ?? null, digests.sha1 ?? null, digests.sha224 ?? null, sha256,
            digests.sha384 ?? null, digests.sha512 ?? null],
        );
        return toArtifactRow(row!);
      } catch (e) {
        // No row references the file (we hold the sha256 lock): do not leave it behind.
        await unlinkQuiet(dest);
        throw e;
      }
    });
  }

  /**
   * `storeHashed` for many verified files in one transaction (sync pipelines store thousands of
   * small files: one lock statement, one touch and one insert per batch instead of per file).
   * Returns rows in input order; files with the same sha256 share one row. Every temp file is
   * moved or removed, also when this fails. `mover` may do the renames in bulk (e.g. on a worker
   * thread); it is called inside the transaction, while the sha256 locks are held.
   * `relaxedCommit` (downloads of a task, which commits synchronously when it ends): the commit
   * does not wait for the WAL flush (db/bulk-sql.ts). The files themselves are not fsynced either,
   * so that wait bought no durability after an OS crash in the first place.
   */
  async storeHashedBatch(files: HashedFile[], mover: FileMover = renameEach, opts: { relaxedCommit?: boolean } = {}): Promise<ArtifactInfo[]> {
    if (!files.length) return [];
    const bySha = new Map<string, number[]>();
    files.forEach((f, i) => {
      for (const d of this.digests) if (!f.digests[d]) throw new Error(`digest ${d} missing for ${f.path}`);
      const list = bySha.get(f.digests.sha256!);
      if (list) list.push(i);
      else bySha.set(f.digests.sha256!, [i]);
    });
    // Sorted lock order: two batch savers could otherwise deadlock each other.
    const shas = [...bySha.keys()].sort();
    const out: ArtifactInfo[] = new Array(files.length);
    const renamed = new Set<string>();
    try {
      await this.db.transaction(async (tx) => {
        if (opts.relaxedCommit) await relaxCommit(tx);
        await tx.query(`SELECT ${LOCK_SQL('s')} FROM unnest($1::text[]) AS u(s)`, [shas]);
        const existing = await tx.query(
          `UPDATE core_artifact SET timestamp_of_interest = now() WHERE sha256 = ANY($1::text[]) RETURNING ${ARTIFACT_INFO_COLUMNS}`,
          [shas],
        );
        const found = new Map(existing.map((r) => [r.sha256 as string, toArtifactInfo(r)]));
        const fresh = shas.filter((s) => !found.has(s));
        const moved: string[] = [];
        try {
          const moves: Array<{ from: string; to: string; fresh: boolean }> = fresh.map((sha) => ({
            from: files[bySha.get(sha)![0]!]!.path, to: this.artifactPath(sha), fresh: true,
          }));
          // A stored file that went missing (or was damaged) is restored from this copy.
          await Promise.all([...found].map(async ([sha, row]) => {
            const dest = this.artifactPath(sha);
            if (await stat(dest).then((st) => st.size === row.size, () => false)) return;
            this.logger.warn('stored artifact file was missing or damaged; restored it from a new copy', { sha256: sha });
            moves.push({ from: files[bySha.get(sha)![0]!]!.path, to: dest, fresh: false });
          }));
          const results = moves.length ? await mover(moves) : [];
          let failed: Error | null = null;
          moves.forEach((m, i) => {
            const err = results[i];
            if (err) failed ??= err;
            else {
              renamed.add(m.from);
              if (m.fresh) moved.push(m.to);
            }
          });
          if (failed) throw failed;
          if (fresh.length) {
            const records = fresh.map((sha) => {
              const f = files[bySha.get(sha)![0]!]!;
              return {
                pulp_id: uuid7(), file: artifactStorageName(sha), size: f.size, md5: f.digests.md5 ?? null, sha1: f.digests.sha1 ?? null,
                sha224: f.digests.sha224 ?? null, sha256: sha, sha384: f.digests.sha384 ?? null, sha512: f.digests.sha512 ?? null,
              };
            });
            // Ids are made here, so nothing needs to come back. (json, not jsonb: read once.)
            await tx.query(
              `INSERT INTO core_artifact (pulp_id, file, size, md5, sha1, sha224, sha256, sha384, sha512)
               SELECT x.pulp_id, x.file, x.size, x.md5, x.sha1, x.sha224, x.sha256, x.sha384, x.sha512
                 FROM json_to_recordset($1::json) AS x(pulp_id uuid, file text, size bigint, md5 text, sha1 text, sha224 text,
                                                         sha256 text, sha384 text, sha512 text)`,
              [JSON.stringify(records)],
            );
            for (const r of records) found.set(r.sha256, r);
          }
        } catch (e) {
          // No row references the new files (we hold their sha256 locks): do not leave them behind.
          await Promise.all(moved.map(unlinkQuiet));
          throw e;
        }
        for (const [sha, positions] of bySha) for (const i of positions) out[i] = found.get(sha)!;
      });
    } finally {
      // Whatever was not renamed into place (duplicates, already-present files, failures) goes.
      await Promise.all(files.filter((f) => !renamed.has(f.path)).map((f) => unlinkQuiet(f.path)));
    }
    return out;
  }

  /** Absolute path of an artifact file (sha256 checked: it cannot leave the media root). */
  private artifactPath(sha256: string): string {
    return `${this.root}${path.sep}${artifactStorageName(sha256)}`;
  }

  async findBySha256(sha256: string, db: Db = this.db): Promise<ArtifactRow | undefined> {
    const r = await db.one(`SELECT ${ARTIFACT_COLUMNS} FROM core_artifact WHERE sha256 = $1`, [sha256]);
    return r ? toArtifactRow(r) : undefined;
  }

  async findById(id: string, db: Db = this.db): Promise<ArtifactRow | undefined> {
    const r = await db.one(`SELECT ${ARTIFACT_COLUMNS} FROM core_artifact WHERE pulp_id = $1`, [id]);
    return r ? toArtifactRow(r) : undefined;
  }

  /**
   * Deletes the files of artifacts whose rows are gone (call after the deleting transaction
   * committed). Each sha256 is locked and re-checked, so a file that a concurrent save just
   * recreated under a new row survives. Returns how many files were removed.
   */
  async removeFilesIfUnreferenced(items: Array<{ sha256: string; file: string }>, batchSize = 500): Promise<number> {
    let removed = 0;
    for (let i = 0; i < items.length; i += batchSize) {
      const batch = [...items.slice(i, i + batchSize)].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
      removed += await this.db.transaction(async (tx) => {
        const shas = batch.map((b) => b.sha256);
        // Sorted lock order: two cleaners could otherwise deadlock each other.
        await tx.query(`SELECT ${LOCK_SQL('s')} FROM unnest($1::text[]) AS u(s)`, [shas]);
        const alive = new Set((await tx.query<{ sha256: string }>('SELECT sha256 FROM core_artifact WHERE sha256 = ANY($1)', [shas])).map((r) => r.sha256));
        let n = 0;
        for (const item of batch) {
          if (alive.has(item.sha256)) continue;
          try {
            await unlink(this.localPath(item.file));
            n++;
          } catch (e) {
            if (!isErrno(e, 'ENOENT')) this.logger.warn('could not delete artifact file', { file: item.file, error: (e as Error).message });
          }
        }
        return n;
      });
    }
    return removed;
  }
}
