import { Queue } from 'bullmq';
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import { hrefs } from '../http/hrefs';
import { uuid7 } from '../util/uuid7';
import type { PluginRegistry } from '../plugins/plugin-registry';
import { redisConnectionOptions, wakeQueueName } from './redis';

export interface DispatchRequest {
  name: string;
  payload: object;
  exclusive?: string[];
  shared?: string[];
  taskGroupId?: string | null;
  parentTaskId?: string | null;
  loggingCid?: string | null;
  createdBy?: number | null;
}

export interface DispatchedTask {
  pulp_id: string;
  href: string;
}

/**
 * Creates task rows (the truth) and wakes workers through BullMQ. If Redis is down the task is
 * still stored and workers find it on their next poll: losing Redis loses no task.
 */
export class TaskDispatcher {
  private queue: Queue | null = null;

  constructor(
    private readonly db: Db,
    private readonly registry: PluginRegistry,
    private readonly redisUrl: string,
    private readonly logger: Logger,
    private readonly queueName: string,
  ) {}

  async dispatch(req: DispatchRequest): Promise<DispatchedTask> {
    if (!this.registry.tasks.has(req.name)) throw new Error(`no task handler named '${req.name}'`);
    const id = uuid7();
    const exclusive = [...new Set(req.exclusive ?? [])];
    const shared = [...new Set(req.shared ?? [])].filter((r) => !exclusive.includes(r));
    await this.db.query(
      `INSERT INTO core_task (pulp_id, state, name, logging_cid, args, exclusive_resources, shared_resources,
         task_group_id, parent_task_id, created_by, pulp_created, pulp_last_updated)
       VALUES ($1, 'waiting', $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp(), clock_timestamp())`,
      [id, req.name, req.loggingCid ?? null, JSON.stringify(req.payload), exclusive, shared,
        req.taskGroupId ?? null, req.parentTaskId ?? null, req.createdBy ?? null],
    );
    if (!this.db.inTransaction) await this.wake();
    return { pulp_id: id, href: hrefs.task(id) };
  }

  /**
   * Creates a task group (its tasks are dispatched with `taskGroupId`). With `allTasksDispatched`
   * false, whoever dispatches the group's last task must set it (Pulp's `TaskGroup.finish()`).
   */
  async createTaskGroup(description: string, allTasksDispatched = false): Promise<{ pulp_id: string; href: string }> {
    const id = uuid7();
    await this.db.query(
      `INSERT INTO core_taskgroup (pulp_id, description, all_tasks_dispatched, pulp_created, pulp_last_updated)
       VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())`,
      [id, description, allTasksDispatched],
    );
    return { pulp_id: id, href: hrefs.taskGroup(id) };
  }

  /** Nudges idle workers to look for runnable tasks (best effort). */
  async wake(): Promise<void> {
    try {
      this.queue ??= new Queue(this.queueName, { connection: redisConnectionOptions(this.redisUrl) });
      await this.queue.add('wake', {}, { removeOnComplete: true, removeOnFail: true });
    } catch (e) {
      this.logger.warn('could not wake workers through Redis; they will poll', { error: (e as Error).message });
    }
  }

  /** Asks the worker running a task to stop it (it also polls, so this only makes it faster). */
  async notifyCancel(taskId: string): Promise<void> {
    await this.wake();
    void taskId;
  }

  async close(): Promise<void> {
    await this.queue?.close().catch(() => undefined);
    this.queue = null;
  }
}
