import { TaskError } from '@pith/plugin-api';

/**
 * A download that failed for good (after retries where they apply). A TaskError, so the task's
 * error shows the message as-is: it names the URL and the reason, never credentials or headers.
 */
export class DownloadError extends TaskError {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly attempts: number,
    /** HTTP status of the last attempt, when there was a response. */
    readonly status?: number,
  ) {
    super(`Download of ${url} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${reason}`);
    this.name = 'DownloadError';
  }
}

/** One attempt's failure, classified for the retry loop (internal). */
export class AttemptError extends Error {
  constructor(
    readonly reason: string,
    readonly retriable: boolean,
    readonly status?: number,
    /** Server-requested delay (Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(reason);
    this.name = 'AttemptError';
  }
}
