import type { Endpoint } from '../http/endpoint';
import { fieldError } from '../http/errors';
import { API_ROOT, parseHref } from '../http/hrefs';
import type { Platform } from '../platform';
import { OrphansCleanup as OrphansCleanupBody } from '../orphans/orphan-cleanup.dto';
import { ORPHAN_CLEANUP_TASK, ORPHANS_RESOURCE, type OrphanCleanupPayload } from '../orphans/orphan-cleanup.task';

const ASYNC_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: { task: { type: 'string', format: 'uri', description: 'The href of the task.' } },
  required: ['task'],
};

export function orphanEndpoints(p: Platform): Endpoint[] {
  const cleanup: Endpoint = {
    method: 'POST',
    path: `${API_ROOT}orphans/cleanup/`,
    openapiPath: `${API_ROOT}orphans/cleanup/`,
    operationId: 'orphans_cleanup_cleanup',
    tag: 'Orphans: Cleanup',
    summary: 'Delete content and artifacts that no repository version or publication uses (task).',
    body: { dto: OrphansCleanupBody, required: false },
    responses: { 202: { schema: ASYNC_SCHEMA } },
    async handler(ctx) {
      const body = ctx.body as OrphansCleanupBody;
      const payload: OrphanCleanupPayload = {
        orphan_protection_time: body.orphan_protection_time ?? p.config.PITH_ORPHAN_PROTECTION_TIME,
      };
      if (body.content_hrefs) {
        const ids: string[] = [];
        const bad: string[] = [];
        for (const href of body.content_hrefs) {
          const parsed = parseHref(href);
          if (!parsed || parsed.kind !== 'content' || parsed.version !== undefined) bad.push(href);
          else ids.push(parsed.id);
        }
        if (bad.length) throw fieldError('content_hrefs', `Invalid hyperlink - not content hrefs: ${bad.slice(0, 10).join(', ')}`);
        const unique = [...new Set(ids)];
        const found = new Set(
          (await p.db.query<{ pulp_id: string }>('SELECT pulp_id FROM core_content WHERE pulp_id = ANY($1::uuid[])', [unique])).map((r) => r.pulp_id),
        );
        const missing = body.content_hrefs.filter((_h, i) => !found.has(ids[i]!));
        if (missing.length) throw fieldError('content_hrefs', `Could not find the following content units: ${missing.slice(0, 10).join(', ')}`);
        payload.content_ids = unique;
      }
      const task = await p.tasks.dispatch({
        name: ORPHAN_CLEANUP_TASK,
        payload,
        exclusive: [ORPHANS_RESOURCE],
        loggingCid: ctx.correlationId,
        createdBy: ctx.user?.id ?? null,
      });
      return { status: 202, body: { task: task.href } };
    },
  };
  return [cleanup];
}
