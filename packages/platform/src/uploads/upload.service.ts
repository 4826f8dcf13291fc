import type { Row } from '@pith/plugin-api';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import type { ReceivedFile } from '../http/multipart';
import { badRequest, fieldError, notFound } from '../http/errors';
import { hrefs, prn } from '../http/hrefs';
import type { ArtifactStorageService } from '../storage/artifact-storage.service';
import { uuid7 } from '../util/uuid7';
import type { ContentRange } from './content-range';

export interface UploadRow {
  pulp_id: string;
  pulp_created: Date;
  pulp_last_updated: Date;
  size: number;
  /** Storage-relative path of the upload's single data file (`upload/<uuid>`). */
  file: string;
}

export interface ChunkInfo {
  offset: number;
  size: number;
}

const iso = (d: Date) => new Date(d).toISOString();

function toUpload(r: Row): UploadRow {
  return { pulp_id: r.pulp_id, pulp_created: r.pulp_created, pulp_last_updated: r.pulp_last_updated, size: Number(r.size), file: r.file };
}

/** Pulp's Upload (list/create) and UploadDetail (read/update, with chunks) representations. */
export function serializeUpload(u: UploadRow, chunks?: ChunkInfo[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    pulp_href: hrefs.upload(u.pulp_id),
    prn: prn('core', 'upload', u.pulp_id),
    pulp_created: iso(u.pulp_created),
    pulp_last_updated: iso(u.pulp_last_updated),
    size: u.size,
    completed: null,
  };
  if (chunks) out.chunks = chunks.map((c) => ({ offset: c.offset, size: c.size }));
  return out;
}

/**
 * Chunked uploads. Each upload owns one data file; every chunk is written in place at its offset
 * as it arrives (any order), so committing never re-assembles anything: the file is hashed once
 * and renamed into artifact storage.
 */
export class UploadService {
  constructor(
    private readonly db: Db,
    private readonly storage: ArtifactStorageService,
    private readonly logger: Logger,
  ) {}

  localPath(u: UploadRow): string {
    return this.storage.localPath(u.file);
  }

  async create(size: number): Promise<UploadRow> {
    const id = uuid7();
    const file = `upload/${id}`;
    // The (empty) data file exists before the row, so a chunk can never find the row without it.
    await (await open(this.storage.localPath(file), 'wx')).close();
    try {
      const row = await this.db.one(
        'INSERT INTO core_upload (pulp_id, size, file) VALUES ($1, $2, $3) RETURNING *',
        [id, size, file],
      );
      return toUpload(row!);
    } catch (e) {
      await unlink(this.storage.localPath(file)).catch(() => undefined);
      throw e;
    }
  }

  async get(id: string, db: Db = this.db): Promise<UploadRow | undefined> {
    const r = await db.one('SELECT * FROM core_upload WHERE pulp_id = $1', [id]);
    return r ? toUpload(r) : undefined;
  }

  async chunks(id: string, db: Db = this.db): Promise<ChunkInfo[]> {
    const rows = await db.query('SELECT "offset", size FROM core_uploadchunk WHERE upload_id = $1 ORDER BY "offset"', [id]);
    return rows.map((r) => ({ offset: Number(r.offset), size: Number(r.size) }));
  }

  /**
   * Writes one received chunk at its offset. The upload row is locked while the range is checked
   * and the bytes are written, so concurrent chunks of one upload can never overwrite each other's
   * data; resending exactly the same range (a client retry) is accepted and rewrites it.
   */
  async writeChunk(id: string, range: ContentRange, file: ReceivedFile, sha256?: string): Promise<{ upload: UploadRow; chunks: ChunkInfo[] }> {
    if (sha256 && file.digests.sha256 && sha256.toLowerCase() !== file.digests.sha256) {
      throw fieldError('sha256', 'Checksum does not match chunk upload.');
    }
    const size = range.end - range.start + 1;
    if (size !== file.size) throw badRequest(`Chunk size does not match content range (range has ${size} bytes, the file part ${file.size}).`);
    return this.db.transaction(async (tx) => {
      const row = await tx.one('SELECT * FROM core_upload WHERE pulp_id = $1 FOR UPDATE', [id]);
      if (!row) throw notFound();
      const upload = toUpload(row);
      if (range.total !== null && range.total !== upload.size) {
        throw badRequest(`Content range total (${range.total}) does not match the upload size (${upload.size}).`);
      }
      if (range.end > upload.size - 1) throw badRequest('End byte is greater than upload size.');
      const overlapping = await tx.query(
        `SELECT "offset", size FROM core_uploadchunk
          WHERE upload_id = $1 AND "offset" <= $3 AND "offset" + size > $2 ORDER BY "offset"`,
        [id, range.start, range.end],
      );
      const same = overlapping.length === 1 && Number(overlapping[0]!.offset) === range.start && Number(overlapping[0]!.size) === size;
      if (overlapping.length && !same) {
        const o = overlapping[0]!;
        const oEnd = Number(o.offset) + Number(o.size) - 1;
        throw badRequest(`Chunk bytes ${range.start}-${range.end} overlap the already uploaded chunk bytes ${o.offset}-${oEnd}.`);
      }
      if (!same) {
        await tx.query(
          'INSERT INTO core_uploadchunk (pulp_id, upload_id, "offset", size) VALUES ($1, $2, $3, $4)',
          [uuid7(), id, range.start, size],
        );
      }
      const dataPath = this.localPath(upload);
      // Recreates a data file lost on disk without truncating an existing one ('a'); the write itself
      // must be positional ('r+'). Missing bytes would be caught by the sha256 check at commit.
      await (await open(dataPath, 'a')).close();
      await pipeline(
        createReadStream(file.path, { highWaterMark: 1 << 20 }),
        createWriteStream(dataPath, { flags: 'r+', start: range.start, highWaterMark: 1 << 20 }),
      );
      const updated = await tx.one('UPDATE core_upload SET pulp_last_updated = now() WHERE pulp_id = $1 RETURNING *', [id]);
      return { upload: toUpload(updated!), chunks: await this.chunks(id, tx) };
    });
  }

  /** Deletes the row (and chunk rows), then the data file. */
  async delete(id: string): Promise<boolean> {
    const row = await this.db.one('DELETE FROM core_upload WHERE pulp_id = $1 RETURNING *', [id]);
    if (!row) return false;
    await unlink(this.localPath(toUpload(row))).catch((e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn('could not delete upload file', { file: row.file, error: String(e) });
    });
    return true;
  }
}
