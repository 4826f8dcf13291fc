import { TaskError, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import { IsUUID, Matches } from 'class-validator';
import { stat } from 'node:fs/promises';
import { hrefs } from '../http/hrefs';
import type { Platform } from '../platform';
import { coverageProblem } from './content-range';

export class UploadCommitPayload {
  @IsUUID() upload_id: string;
  @Matches(/^[0-9a-f]{64}$/) sha256: string;
}

export const UPLOAD_COMMIT_TASK = 'core.upload_commit';

/**
 * `core.upload_commit`: checks that the chunks cover the whole upload, hashes its data file once,
 * compares the sha256, then moves the file into artifact storage (or reuses the artifact that
 * already has those bytes) and deletes the upload. On a mismatch nothing is stored and the upload
 * is kept, so the client can fix a chunk or the checksum and commit again.
 */
export function uploadCommitTask(p: Platform): TaskDefinition<UploadCommitPayload> {
  return {
    name: UPLOAD_COMMIT_TASK,
    payload: UploadCommitPayload,
    resources: (payload) => ({ exclusive: [hrefs.upload(payload.upload_id)] }),
    async run(ctx: TaskContext, payload: UploadCommitPayload) {
      const expected = payload.sha256.toLowerCase();
      const finish = async (artifactId: string) => {
        await ctx.addCreatedResource(hrefs.artifact(artifactId));
        await p.uploads.delete(payload.upload_id);
      };
      const upload = await p.uploads.get(payload.upload_id);
      if (!upload) {
        // A redelivered task whose first run completed everything but its own final state.
        const done = await p.artifacts.findBySha256(expected);
        if (done) return void (await ctx.addCreatedResource(hrefs.artifact(done.pulp_id)));
        throw new TaskError(`Upload ${hrefs.upload(payload.upload_id)} does not exist (it was deleted).`);
      }
      const problem = coverageProblem(await p.uploads.chunks(upload.pulp_id), upload.size);
      if (problem) throw new TaskError(`${problem} Upload the missing chunks, then commit again.`);
      const path = p.uploads.localPath(upload);
      const present = await stat(path).then(() => true, () => false);
      if (!present) {
        // A previous run moved the file into storage and died before deleting the upload.
        const done = await p.artifacts.findBySha256(expected);
        if (done) return void (await finish(done.pulp_id));
        throw new TaskError('The data file of this upload is missing; delete the upload and upload the file again.');
      }
      ctx.throwIfCanceled();
      const hashed = await p.artifacts.hashFile(path);
      ctx.throwIfCanceled();
      if (hashed.size !== upload.size) {
        throw new TaskError(`The uploaded data is ${hashed.size} bytes, but the upload was declared as ${upload.size} bytes.`);
      }
      if (hashed.digests.sha256 !== expected) {
        throw new TaskError(
          `The sha256 checksum of the uploaded file (${hashed.digests.sha256}) does not match the expected one (${expected}). ` +
            'Nothing was stored; the upload is kept so its chunks can be fixed and the commit retried.',
        );
      }
      const artifact = await p.artifacts.storeHashed({ path, ...hashed });
      await finish(artifact.pulp_id);
      ctx.logger.info('upload committed', { upload: upload.pulp_id, artifact: artifact.pulp_id, size: upload.size });
    },
  };
}
