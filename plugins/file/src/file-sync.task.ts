import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IsBoolean, IsOptional, IsString, IsUUID } from 'class-validator';
import {
  TaskError,
  type DeclarativeContent, type ProgressReporter, type RemoteInfo, type SyncTaskPayload, type TaskContext, type TaskDefinition,
} from '@pith/plugin-api';
import { countManifestEntries, manifestEntryChunks } from './file-manifest';
import { DEFAULT_MANIFEST, FILE_PUBLICATION_TYPE, publishFileVersion } from './file-publisher';
import { syncIsRedundant, type FileSyncDetails } from './file-sync-details';
import { entryUrlResolver, manifestNameFromUrl } from './file-urls';

export const FILE_SYNC_TASK = 'file.sync';
const FILE_TYPE = 'file.file';
/** Read size while parsing the downloaded manifest. */
const READ_CHUNK = 256 * 1024;

/** The platform's sync payload plus `optimize` (FileSyncDto). */
export class FileSyncPayload implements SyncTaskPayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
  @IsUUID() remote_id: string;
  @IsString() remote_href: string;
  @IsBoolean() mirror: boolean;
  @IsOptional() @IsBoolean() optimize?: boolean;
}

interface RepositoryState {
  autopublish: boolean;
  manifest: string | null;
  last_sync_details: unknown;
  latest: number | null;
}

async function repositoryState(ctx: TaskContext, id: string): Promise<RepositoryState> {
  const [row] = await ctx.db.query<{ pulp_type: string } & RepositoryState>(
    `SELECT r.pulp_type, coalesce(d.autopublish, false) AS autopublish, d.manifest, d.last_sync_details,
            (SELECT max(v.number) FROM core_repositoryversion v WHERE v.repository_id = r.pulp_id AND v.complete) AS latest
       FROM core_repository r LEFT JOIN file_filerepository d ON d.repository_ptr_id = r.pulp_id
      WHERE r.pulp_id = $1`,
    [id],
  );
  if (!row) throw new TaskError(`Repository ${id} does not exist.`);
  if (row.pulp_type !== FILE_TYPE) throw new TaskError(`Repository ${id} is a ${row.pulp_type} repository, not a ${FILE_TYPE} one.`);
  return row;
}

/** Streams the manifest into a temp file, hashing it on the way (the optimize check needs its sha256). */
async function fetchManifest(ctx: TaskContext, remote: RemoteInfo, dest: string): Promise<string> {
  const src = await ctx.sync.downloader(remote).open(remote.url, ctx.signal);
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(src, tap, createWriteStream(dest), { signal: ctx.signal });
  return hash.digest('hex');
}

/** The first stage: one declarative `file.file` unit per manifest line, parsed as it streams. */
async function* declarations(path: string, remote: RemoteInfo, progress: ProgressReporter): AsyncGenerator<DeclarativeContent> {
  const deferred = remote.policy !== 'immediate';
  const urlOf = entryUrlResolver(new URL(remote.url));
  for await (const entries of manifestEntryChunks(createReadStream(path, { highWaterMark: READ_CHUNK }))) {
    for (const e of entries) {
      progress.increment();
      yield {
        pulpType: FILE_TYPE,
        detail: { relative_path: e.relativePath, digest: e.digest },
        artifacts: [{
          url: urlOf(e.relativePath),
          relativePath: e.relativePath,
          expected: { sha256: e.digest, size: e.size },
          deferred,
        }],
      };
    }
  }
}

/**
 * `file.sync`: downloads the remote's PULP_MANIFEST, and unless `optimize` finds nothing changed
 * since the last sync, feeds its entries to the platform's sync pipeline (additive, or mirror).
 * A new version is then published: as a pass-through publication carrying upstream's manifest
 * when mirroring (as Pulp does), else through autopublish when the repository asks for it.
 */
export const fileSyncTask: TaskDefinition<FileSyncPayload> = {
  name: FILE_SYNC_TASK,
  payload: FileSyncPayload,
  resources: (pl) => ({ exclusive: [pl.repository_href], shared: [pl.remote_href] }),
  async run(ctx, pl) {
    const repo = await repositoryState(ctx, pl.repository_id);
    const remote = await ctx.sync.remote(pl.remote_id);
    if (remote.pulp_type !== FILE_TYPE) throw new TaskError(`Remote ${remote.name} is a ${remote.pulp_type} remote; a ${FILE_TYPE} remote is required.`);
    if (!remote.url) throw new TaskError('A remote must have a url specified to synchronize.');
    const [remoteRow] = await ctx.db.query<{ updated: string }>(
      'SELECT pulp_last_updated::text AS updated FROM core_remote WHERE pulp_id = $1',
      [remote.pulp_id],
    );

    const tmp = ctx.artifacts.tempPath();
    try {
      const downloading = await ctx.progress({ message: 'Downloading Metadata', code: 'sync.downloading.metadata' });
      const checksum = await fetchManifest(ctx, remote, tmp);
      downloading.increment();
      await downloading.done();

      const details: FileSyncDetails = {
        remote_id: remote.pulp_id,
        url: remote.url,
        download_policy: remote.policy,
        remote_updated: remoteRow?.updated ?? '',
        mirror: pl.mirror,
        manifest_checksum: checksum,
        most_recent_version: repo.latest,
      };
      if (pl.optimize !== false && syncIsRedundant(details, repo.last_sync_details)) {
        const skipped = await ctx.progress({ message: 'Skipping Sync (no change from previous sync)', code: 'sync.was_skipped', total: 1 });
        skipped.increment();
        await skipped.done();
        return;
      }

      const total = await countManifestEntries(createReadStream(tmp, { highWaterMark: READ_CHUNK }));
      const parsing = await ctx.progress({ message: 'Parsing Metadata Lines', code: 'sync.parsing.metadata', total });
      const stats = await ctx.sync.run(
        { repositoryId: pl.repository_id, remote, mirror: pl.mirror, signal: ctx.signal },
        declarations(tmp, remote, parsing),
      );
      await parsing.done();

      const version = stats.version;
      if (version) {
        await ctx.addCreatedResource(version.href);
        const [v] = await ctx.db.query<{ pulp_id: string }>(
          'SELECT pulp_id FROM core_repositoryversion WHERE repository_id = $1 AND number = $2',
          [pl.repository_id, version.number],
        );
        if (!v) throw new Error(`version ${version.number} of ${pl.repository_id} vanished after the sync`);
        if (pl.mirror) {
          const name = manifestNameFromUrl(remote.url, DEFAULT_MANIFEST);
          await ctx.publications.create(
            { pulpType: FILE_PUBLICATION_TYPE, repositoryVersionId: v.pulp_id, passThrough: true, detail: { manifest: name } },
            (b) => b.addMetadata(name, tmp),
          );
        } else if (repo.autopublish) {
          await publishFileVersion(ctx, v.pulp_id, repo.manifest);
        }
      }
      // Recorded last: a sync whose publication failed must not be skipped next time.
      details.most_recent_version = version?.number ?? repo.latest;
      await ctx.db.query('UPDATE file_filerepository SET last_sync_details = $2 WHERE repository_ptr_id = $1', [
        pl.repository_id, JSON.stringify(details),
      ]);
    } finally {
      await rm(tmp, { force: true });
    }
  },
};
