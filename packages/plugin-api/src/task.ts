import type { ClassType } from './plugin';
import type { Json } from './serialized';
import type { TaskServices } from './task-services';

/** Locks a task needs: resource identifiers (hrefs or `pdrn:` strings). FIFO per resource. */
export interface TaskResources {
  exclusive?: string[];
  shared?: string[];
}

export interface TaskDefinition<P extends object = object> {
  /** Globally unique, prefixed by the plugin id (`file.sync`); core tasks use `core.`. */
  name: string;
  /** class-validator class the stored payload is validated against before running. */
  payload?: ClassType<P>;
  /** Locks taken at dispatch; the task runs only once all are free, in FIFO order. */
  resources(payload: P): TaskResources;
  /**
   * Runs the task. Must be idempotent for its own effects (delivery is at-least-once) and must
   * check `ctx.signal` between units of work. A returned value is stored as the task `result`.
   */
  run(ctx: TaskContext, payload: P): Promise<Json | void>;
}

export interface TaskLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface ProgressReporter {
  /** Adds to `done`; saved at most every 2 s (and always on completion). */
  increment(by?: number): void;
  setTotal(total: number | null): void;
  /** Marks it completed (or failed/canceled when the task ends that way). */
  done(): Promise<void>;
}

export interface ProgressOptions {
  message: string;
  code: string;
  total?: number | null;
  suffix?: string | null;
}

export interface TaskContext extends TaskServices {
  readonly taskId: string;
  readonly taskHref: string;
  readonly logger: TaskLogger;
  /** Aborted when the task is canceled or its worker shuts down. */
  readonly signal: AbortSignal;
  progress(opts: ProgressOptions): Promise<ProgressReporter>;
  /** Records an href in the task's `created_resources`. */
  addCreatedResource(href: string): Promise<void>;
  /** Throws a cancellation error if the task was canceled. */
  throwIfCanceled(): void;
}

/** Thrown by handlers for an expected failure: the message is shown to users as-is. */
export class TaskError extends Error {
  constructor(message: string, readonly errorCode?: string) {
    super(message);
    this.name = 'TaskError';
  }
}
