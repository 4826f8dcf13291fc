import type { TaskContext, TaskDefinition } from '@pith/plugin-api';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsUUID, Min } from 'class-validator';
import type { Platform } from '../platform';
import { OrphanCleanupService } from './orphan-cleanup.service';

export const ORPHAN_CLEANUP_TASK = 'core.orphan_cleanup';
/** Global lock: one cleanup at a time (Pulp's `pdrn:<domain>:orphans`). */
export const ORPHANS_RESOURCE = 'pdrn:default:orphans';

export class OrphanCleanupPayload {
  @IsOptional() @IsArray() @ArrayMaxSize(100_000) @IsUUID('all', { each: true }) content_ids?: string[];
  @IsInt() @Min(0) orphan_protection_time: number;
}

/** `core.orphan_cleanup`: removes unused content, then unused artifacts (rows, then files). */
export function orphanCleanupTask(p: Platform): TaskDefinition<OrphanCleanupPayload> {
  const service = new OrphanCleanupService(p);
  return {
    name: ORPHAN_CLEANUP_TASK,
    payload: OrphanCleanupPayload,
    resources: () => ({ exclusive: [ORPHANS_RESOURCE] }),
    async run(ctx: TaskContext, payload: OrphanCleanupPayload) {
      await service.run(ctx, { contentIds: payload.content_ids, protectionMinutes: payload.orphan_protection_time });
    },
  };
}
