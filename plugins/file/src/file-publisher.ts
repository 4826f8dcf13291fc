import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { TaskError, type TaskContext, type VersionContentArtifact } from '@pith/plugin-api';
import { formatManifestLine } from './file-manifest';

export const FILE_PUBLICATION_TYPE = 'file.file';
export const DEFAULT_MANIFEST = 'PULP_MANIFEST';

/** Content artifacts per round trip while publishing. */
const BATCH = 2000;

/**
 * Fills in sha256/size of on-demand units the walk could not resolve: the digest is the unit's
 * own, the size comes from any remote artifact that knows it. One query per batch, only when needed.
 */
async function resolveMissing(ctx: TaskContext, rows: VersionContentArtifact[]): Promise<void> {
  const missing = rows.filter((r) => r.sha256 === null || r.size === null);
  if (!missing.length) return;
  const found = await ctx.db.query<{ id: string; digest: string | null; size: string | null }>(
    `SELECT ca.pulp_id AS id, fc.digest,
            (SELECT ra.size FROM core_remoteartifact ra
              WHERE ra.content_artifact_id = ca.pulp_id AND ra.size IS NOT NULL LIMIT 1) AS size
       FROM core_contentartifact ca
       LEFT JOIN file_filecontent fc ON fc.content_ptr_id = ca.content_id
      WHERE ca.pulp_id = ANY($1::uuid[])`,
    [missing.map((r) => r.content_artifact_id)],
  );
  const byId = new Map(found.map((f) => [f.id, f]));
  for (const r of missing) {
    const f = byId.get(r.content_artifact_id);
    r.sha256 ??= f?.digest ?? null;
    if (r.size === null && f?.size !== null && f?.size !== undefined) r.size = Number(f.size);
  }
}

/**
 * Publishes one repository version: every content artifact at its relative path, plus (unless
 * `manifest` is null) a generated manifest listing `relative_path,sha256,size` for each file.
 * The manifest is streamed to a temp file batch by batch, so memory does not grow with the
 * repository. The publication becomes visible only when everything succeeded.
 */
export async function publishFileVersion(
  ctx: TaskContext, repositoryVersionId: string, manifest: string | null,
): Promise<{ pulp_id: string; href: string }> {
  return ctx.publications.create(
    { pulpType: FILE_PUBLICATION_TYPE, repositoryVersionId, detail: { manifest } },
    async (b) => {
      const tmp = manifest ? ctx.artifacts.tempPath() : null;
      const out = tmp ? createWriteStream(tmp) : null;
      // An error event with nobody listening would crash the process; surface it at the next await.
      let writeError: Error | null = null;
      out?.on('error', (e) => (writeError = e));
      try {
        for await (const batch of b.contentArtifacts(BATCH)) {
          ctx.throwIfCanceled();
          if (manifest && batch.some((ca) => ca.relative_path === manifest)) {
            throw new TaskError(`The repository version holds a file at '${manifest}', the name of the manifest to generate; choose another manifest name.`);
          }
          await b.addPublishedArtifacts(batch.map((ca) => ({ contentArtifactId: ca.content_artifact_id, relativePath: ca.relative_path })));
          if (!out) continue;
          await resolveMissing(ctx, batch);
          let text = '';
          for (const ca of batch) {
            if (ca.sha256 === null || ca.size === null) {
              throw new TaskError(`Cannot write the manifest: the size or sha256 of '${ca.relative_path}' is unknown.`);
            }
            text += formatManifestLine(ca.relative_path, ca.sha256, ca.size);
          }
          if (writeError) throw writeError;
          if (!out.write(text)) await once(out, 'drain');
        }
        if (out && tmp) {
          out.end();
          await finished(out);
          await b.addMetadata(manifest!, tmp);
        }
      } finally {
        if (out && !out.closed) out.destroy();
        if (tmp) await rm(tmp, { force: true });
      }
    },
  );
}
