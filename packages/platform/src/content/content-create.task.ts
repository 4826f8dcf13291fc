import { IsObject, IsOptional, IsString, IsUUID } from 'class-validator';
import { TaskError, type ArtifactInfo, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import { stat } from 'node:fs/promises';
import { hrefs } from '../http/hrefs';
import type { Platform } from '../platform';
import { contentHref } from '../resources/resource-hrefs';

export class ContentCreatePayload {
  @IsString() pulp_type: string;
  /** Exactly one of artifact_id / upload_id is set. */
  @IsOptional() @IsUUID() artifact_id?: string | null;
  @IsOptional() @IsUUID() upload_id?: string | null;
  /** The validated body fields handed to the type's `fromArtifact` (relative_path and the type's own). */
  @IsObject() fields: Record<string, unknown>;
  @IsOptional() @IsObject() pulp_labels?: Record<string, string> | null;
  @IsOptional() @IsUUID() repository_id?: string | null;
  @IsOptional() @IsString() repository_href?: string | null;
}

export const CONTENT_CREATE_TASK = 'core.content_create';

/**
 * `core.content_create`: turns one artifact (or a committed chunked upload) into a content unit
 * through the type's `fromArtifact` hook, saves it with natural-key dedupe, and optionally adds
 * it to a repository in a new version. Re-running it is harmless: the unit dedupes and an
 * unchanged repository gets no new version.
 */
export function contentCreateTask(p: Platform): TaskDefinition<ContentCreatePayload> {
  return {
    name: CONTENT_CREATE_TASK,
    payload: ContentCreatePayload,
    resources: (pl) => ({
      exclusive: pl.repository_href ? [pl.repository_href] : [],
      shared: pl.upload_id ? [hrefs.upload(pl.upload_id)] : pl.artifact_id ? [hrefs.artifact(pl.artifact_id)] : [],
    }),
    async run(ctx: TaskContext, pl: ContentCreatePayload) {
      const reg = p.registry.contentTypes.get(pl.pulp_type);
      if (!reg?.def.fromArtifact) throw new TaskError(`Content of type ${pl.pulp_type} cannot be created from a file.`);
      const artifact = await artifactFor(p, pl);
      ctx.throwIfCanceled();
      const made = await reg.def.fromArtifact(pl.fields, artifact);
      if (!made.relativePath) throw new TaskError('relative_path is required for this content type.');
      const [id] = await ctx.content.saveBatch([{
        pulpType: pl.pulp_type,
        detail: made.detail,
        artifacts: [{ relativePath: made.relativePath, artifactId: artifact.pulp_id }],
        pulpLabels: pl.pulp_labels ?? undefined,
      }]);
      await ctx.addCreatedResource(contentHref(p.registry, pl.pulp_type, id!));
      if (pl.repository_id) {
        const v = await ctx.versions.create(pl.repository_id, async (b) => { await b.add([id!]); });
        if (v) await ctx.addCreatedResource(v.href);
      }
    },
  };
}

async function artifactFor(p: Platform, pl: ContentCreatePayload): Promise<ArtifactInfo> {
  if (pl.artifact_id) {
    const a = await p.artifacts.findById(pl.artifact_id);
    if (!a) throw new TaskError(`Artifact ${hrefs.artifact(pl.artifact_id)} does not exist.`);
    return a;
  }
  if (!pl.upload_id) throw new TaskError('No artifact or upload given.');
  const upload = await p.uploads.get(pl.upload_id);
  if (!upload) throw new TaskError(`Upload ${hrefs.upload(pl.upload_id)} does not exist.`);
  const path = p.uploads.localPath(upload);
  if (!(await stat(path).then(() => true, () => false))) throw new TaskError('The data file of this upload is missing.');
  const hashed = await p.artifacts.hashFile(path);
  if (hashed.size !== Number(upload.size)) {
    throw new TaskError(`The uploaded data is ${hashed.size} bytes, but the upload was declared as ${upload.size} bytes.`);
  }
  const artifact = await p.artifacts.storeHashed({ path, ...hashed });
  // Pulp deletes the upload once its data became an artifact.
  await p.uploads.delete(upload.pulp_id);
  return artifact;
}
