import { IsOptional, IsString, IsUUID } from 'class-validator';
import { TaskError, type PublishTaskPayload, type TaskDefinition } from '@pith/plugin-api';
import { relativePathProblem } from './file-paths';
import { DEFAULT_MANIFEST, FILE_PUBLICATION_TYPE, publishFileVersion } from './file-publisher';

export const FILE_PUBLISH_TASK = 'file.publish';

/** The platform's publish payload plus the `file.file` publication fields. */
export class FilePublishPayload implements PublishTaskPayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
  @IsUUID() repository_version_id: string;
  @IsString() publication_type: string;
  /** Absent = `PULP_MANIFEST`; null = no manifest. */
  @IsOptional() @IsString() manifest?: string | null;
}

/**
 * `file.publish`: publishes a repository version with a manifest. Publishing the same version
 * with the same manifest name again reuses the existing publication (re-running after a lost
 * acknowledgement creates nothing twice).
 */
export const filePublishTask: TaskDefinition<FilePublishPayload> = {
  name: FILE_PUBLISH_TASK,
  payload: FilePublishPayload,
  resources: (pl) => ({ shared: [pl.repository_href] }),
  async run(ctx, pl) {
    if (pl.publication_type !== FILE_PUBLICATION_TYPE) throw new TaskError(`file.publish cannot build ${pl.publication_type} publications.`);
    const manifest = pl.manifest === undefined ? DEFAULT_MANIFEST : pl.manifest;
    const problem = manifest === null ? null : relativePathProblem(manifest);
    if (problem) throw new TaskError(`Invalid manifest name: ${problem}`);
    const reused = await ctx.publications.reuseExisting({
      pulpType: FILE_PUBLICATION_TYPE,
      repositoryVersionId: pl.repository_version_id,
      detail: { manifest },
      passThrough: false,
    });
    if (reused) return;
    await publishFileVersion(ctx, pl.repository_version_id, manifest);
  },
};
