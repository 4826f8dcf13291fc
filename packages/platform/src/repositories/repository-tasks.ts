import { IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Min, ValidateIf } from 'class-validator';
import { TaskError, type TaskContext, type TaskDefinition } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { MasterDetailService } from '../resources/master-detail.service';
import { KINDS } from '../resources/resource-kinds';
import type { RepositoryVersionService } from './version.service';

export class ModifyPayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
  @IsArray() @IsUUID('all', { each: true }) add: string[];
  /** Content ids, or `'*'` for everything. */
  @ValidateIf((o: ModifyPayload) => o.remove !== '*') @IsArray() @IsUUID('all', { each: true }) remove: string[] | '*';
  @IsOptional() @IsInt() @Min(0) base_version?: number | null;
}

export class VersionDeletePayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
  @IsInt() @Min(0) number: number;
}

export class RetentionPayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
}

export class ResourceDeletePayload {
  @IsIn(['repositories', 'remotes']) kind: 'repositories' | 'remotes';
  @IsUUID() pulp_id: string;
  @IsString() pulp_type: string;
  @IsString() href: string;
}

/** The concrete version service bound to the running task (squash and retention are not in plugin-api). */
function versionsFor(p: Platform, ctx: TaskContext): RepositoryVersionService {
  return p.versions.forTask(ctx.taskId);
}

/** `core.modify`: removals first, then additions, optionally starting from a base version. */
export function modifyTask(p: Platform): TaskDefinition<ModifyPayload> {
  return {
    name: 'core.modify',
    payload: ModifyPayload,
    resources: (pl) => ({ exclusive: [pl.repository_href] }),
    async run(ctx, pl) {
      const created = await versionsFor(p, ctx).create(
        pl.repository_id,
        async (v) => {
          if (pl.remove === '*' || pl.remove.length) await v.remove(pl.remove);
          ctx.throwIfCanceled();
          if (pl.add.length) await v.add(pl.add);
        },
        { baseVersion: pl.base_version ?? undefined },
      );
      if (created) await ctx.addCreatedResource(created.href);
    },
  };
}

/** `core.repository_version_delete`: squashes the version into the next one. */
export function versionDeleteTask(p: Platform): TaskDefinition<VersionDeletePayload> {
  return {
    name: 'core.repository_version_delete',
    payload: VersionDeletePayload,
    resources: (pl) => ({ exclusive: [pl.repository_href] }),
    async run(ctx, pl) {
      await versionsFor(p, ctx).deleteVersion(pl.repository_id, pl.number);
    },
  };
}

/** `core.repository_retention`: applies a changed `retain_repo_versions` (Pulp does it on update). */
export function retentionTask(p: Platform): TaskDefinition<RetentionPayload> {
  return {
    name: 'core.repository_retention',
    payload: RetentionPayload,
    resources: (pl) => ({ exclusive: [pl.repository_href] }),
    async run(ctx, pl) {
      const row = await p.db.one<{ retain_repo_versions: number | null }>(
        'SELECT retain_repo_versions FROM core_repository WHERE pulp_id = $1',
        [pl.repository_id],
      );
      if (!row?.retain_repo_versions) return;
      const deleted = await versionsFor(p, ctx).applyRetention(pl.repository_id, row.retain_repo_versions);
      return { deleted_versions: deleted };
    },
  };
}

function resourceDeleteTask(p: Platform, name: string, kind: 'repositories' | 'remotes'): TaskDefinition<ResourceDeletePayload> {
  const svc = new MasterDetailService(p);
  return {
    name,
    payload: ResourceDeletePayload,
    resources: (pl) => ({ exclusive: [pl.href] }),
    async run(_ctx, pl) {
      if (pl.kind !== kind) throw new TaskError(`${name} cannot delete ${pl.kind}`);
      await svc.delete(KINDS[kind], p.registry.typesOf(kind).get(pl.pulp_type), pl.pulp_id);
    },
  };
}

/** Core task handlers of this area (registered in tasks-index.ts). */
export function repositoryTasks(p: Platform): TaskDefinition<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return [
    modifyTask(p),
    versionDeleteTask(p),
    retentionTask(p),
    resourceDeleteTask(p, 'core.repository_delete', 'repositories'),
    resourceDeleteTask(p, 'core.remote_delete', 'remotes'),
  ];
}
