import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Json, ProgressOptions, TaskContext, TaskDefinition } from '@pith/plugin-api';
import { TaskError } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { hrefs } from '../http/hrefs';
import { DbProgressReporter } from './progress-reporter';
import type { ClaimedTask } from './task-claim';

const CANCEL_POLL_MS = 1000;

export class TaskCanceledError extends Error {
  constructor() {
    super('Task was canceled.');
    this.name = 'TaskCanceledError';
  }
}

/**
 * Runs one claimed task to a final state: validates the payload, runs the handler with a context,
 * watches for cancellation, records the result or error, and on failure removes whatever
 * incomplete versions/publications the task left.
 */
export async function runClaimedTask(p: Platform, task: ClaimedTask, shutdownSignal: AbortSignal): Promise<void> {
  const logger = p.logger.child({ task: task.pulp_id, task_name: task.name, cid: task.logging_cid ?? undefined });
  const controller = new AbortController();
  let canceled = false;
  let shutdown = false;
  const onShutdown = () => {
    shutdown = true;
    controller.abort(new Error('Aborted during worker shutdown.'));
  };
  shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  const poll = setInterval(() => {
    p.db
      .one<{ state: string }>('SELECT state FROM core_task WHERE pulp_id = $1', [task.pulp_id])
      .then((r) => {
        if (r?.state === 'canceling' && !canceled) {
          canceled = true;
          controller.abort(new TaskCanceledError());
        }
      })
      .catch(() => undefined);
  }, CANCEL_POLL_MS);
  poll.unref();

  const reporters: DbProgressReporter[] = [];
  // Services stay on the prototype so they are resolved only when a handler uses them.
  const ctx: TaskContext = Object.assign(Object.create(p.taskServices(task.pulp_id)) as TaskContext, {
    taskId: task.pulp_id,
    taskHref: hrefs.task(task.pulp_id),
    logger,
    signal: controller.signal,
    progress: async (opts: ProgressOptions) => {
      const r = await DbProgressReporter.start(p.db, task.pulp_id, opts);
      reporters.push(r);
      return r;
    },
    addCreatedResource: async (href: string) => {
      await p.db.query(
        `UPDATE core_task SET created_resources = array_append(created_resources, $2) WHERE pulp_id = $1 AND NOT ($2 = ANY(created_resources))`,
        [task.pulp_id, href],
      );
    },
    throwIfCanceled: () => {
      if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new TaskCanceledError();
    },
  });

  const started = Date.now();
  logger.info('task started');
  try {
    const def = p.registry.tasks.get(task.name);
    if (!def) throw new TaskError(`No handler for task '${task.name}' on this worker.`);
    const payload = await validatePayload(def, task.args);
    const result = await Promise.race([
      def.run(ctx, payload),
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })),
    ]);
    ctx.throwIfCanceled();
    await Promise.all(reporters.map((r) => r.done()));
    await p.db.query(
      `UPDATE core_task SET state = CASE WHEN state = 'canceling' THEN 'canceled' ELSE 'completed' END,
              finished_at = clock_timestamp(), pulp_last_updated = clock_timestamp(), result = $2
        WHERE pulp_id = $1 AND state IN ('running', 'canceling')`,
      [task.pulp_id, result === undefined ? null : JSON.stringify(result as Json)],
    );
    logger.info('task completed', { ms: Date.now() - started });
  } catch (e) {
    const wasCanceled = canceled || e instanceof TaskCanceledError;
    const state = wasCanceled ? 'canceled' : 'failed';
    const error = wasCanceled
      ? null
      : shutdown
        ? { reason: 'Aborted during worker shutdown.' }
        : errorToJson(e);
    await p.runTaskCleanup(task.pulp_id).catch((ce) => logger.error('cleanup after failure failed', { error: String(ce) }));
    await p.db.query(
      `UPDATE core_progressreport SET state = $2, pulp_last_updated = now() WHERE task_id = $1 AND state = 'running'`,
      [task.pulp_id, state],
    );
    await p.db.query(
      `UPDATE core_task SET state = $2, error = $3, finished_at = clock_timestamp(), pulp_last_updated = clock_timestamp()
        WHERE pulp_id = $1 AND state IN ('running', 'canceling')`,
      [task.pulp_id, state, error === null ? null : JSON.stringify(error)],
    );
    if (wasCanceled) logger.info('task canceled', { ms: Date.now() - started });
    else logger.warn('task failed', { ms: Date.now() - started, error: (e as Error)?.message ?? String(e) });
  } finally {
    clearInterval(poll);
    shutdownSignal.removeEventListener('abort', onShutdown);
  }
}

async function validatePayload(def: TaskDefinition<object>, args: Record<string, unknown>): Promise<object> {
  if (!def.payload) return args;
  const instance = plainToInstance(def.payload, args) as object;
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false });
  if (errors.length) {
    const msgs = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
    throw new TaskError(`Invalid task arguments: ${msgs.join('; ')}`);
  }
  return instance;
}

/** Pulp's error shape. TaskErrors carry a user-facing message; others keep their message and stack. */
export function errorToJson(e: unknown): Record<string, unknown> {
  if (e instanceof TaskError) return { description: e.message, ...(e.errorCode ? { error_code: e.errorCode } : {}) };
  if (e instanceof Error) return { description: e.message || e.name, traceback: e.stack ?? '' };
  return { description: String(e) };
}
