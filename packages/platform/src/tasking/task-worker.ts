import { Worker as BullWorker } from 'bullmq';
import * as os from 'node:os';
import type { Platform } from '../platform';
import { uuid7 } from '../util/uuid7';
import { claimNextTask } from './task-claim';
import { runClaimedTask } from './task-runner';
import { redisConnectionOptions, wakeQueueName } from './redis';
import { reapMissingWorkers } from './worker-reaper';

const POLL_MS = 2000;

/**
 * One task worker: runs one task at a time, heartbeats into core_appstatus, reaps missing peers.
 * Woken by BullMQ jobs (fast path) and by a poll (so a Redis outage only adds latency).
 */
export class TaskWorker {
  readonly name: string;
  private readonly shutdown = new AbortController();
  private bull: BullWorker | null = null;
  private timers: NodeJS.Timeout[] = [];
  private loop: Promise<void> | null = null;
  private wanted = false;
  private currentTaskId: string | null = null;

  constructor(private readonly p: Platform, name?: string) {
    this.name = name ?? `${process.pid}@${os.hostname()}-${uuid7().slice(-6)}`;
  }

  async start(): Promise<void> {
    await this.heartbeat();
    const ttlMs = this.p.config.PITH_WORKER_TTL * 1000;
    this.timers.push(setInterval(() => void this.heartbeat(), Math.max(500, ttlMs / 3)));
    this.timers.push(setInterval(() => void this.reap(), Math.max(1000, ttlMs / 2)));
    this.timers.push(setInterval(() => this.kick(), POLL_MS));
    // The processor holds its wake job until this worker is idle again, so while it runs a task the
    // other wake-ups go to idle workers instead of being swallowed here.
    this.bull = new BullWorker(wakeQueueName(this.p.config.DATABASE_URL), async () => {
      this.kick();
      await this.loop;
    }, {
      connection: redisConnectionOptions(this.p.config.REDIS_URL),
      concurrency: 1,
      autorun: true,
    });
    this.bull.on('error', (e) => this.p.logger.debug('bullmq worker error', { error: e.message }));
    this.p.logger.info('worker started', { worker: this.name });
    this.kick();
  }

  /** Starts the claim loop if it is not running (coalesces wake-ups). */
  kick(): void {
    if (this.shutdown.signal.aborted) return;
    this.wanted = true;
    if (this.loop) return;
    this.loop = this.drain().finally(() => {
      this.loop = null;
      if (this.wanted && !this.shutdown.signal.aborted) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.wanted && !this.shutdown.signal.aborted) {
      this.wanted = false;
      for (;;) {
        if (this.shutdown.signal.aborted) return;
        let task;
        try {
          task = await claimNextTask(this.p.db, this.name);
        } catch (e) {
          this.p.logger.warn('claiming a task failed', { error: (e as Error).message });
          return;
        }
        if (!task) break;
        this.currentTaskId = task.pulp_id;
        await this.heartbeat();
        try {
          await runClaimedTask(this.p, task, this.shutdown.signal);
        } finally {
          this.currentTaskId = null;
        }
        // Tasks that were blocked on this one may be runnable by other idle workers now.
        await this.p.tasks.wake();
      }
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.p.db.query(
        `INSERT INTO core_appstatus (pulp_id, name, app_type, last_heartbeat, versions, ttl, current_task_id)
         VALUES ($1, $2, 'worker', now(), $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET last_heartbeat = now(), current_task_id = EXCLUDED.current_task_id,
           pulp_last_updated = now()`,
        [uuid7(), this.name, JSON.stringify(this.p.componentVersions()), this.p.config.PITH_WORKER_TTL, this.currentTaskId],
      );
    } catch (e) {
      this.p.logger.warn('heartbeat failed', { error: (e as Error).message });
    }
  }

  private async reap(): Promise<void> {
    try {
      const failed = await reapMissingWorkers(this.p);
      if (failed.length) this.kick();
    } catch (e) {
      this.p.logger.warn('reaping missing workers failed', { error: (e as Error).message });
    }
  }

  /**
   * Stops claiming; a running task gets `graceMs` to finish before it is aborted and failed with
   * "Aborted during worker shutdown.". The heartbeat row is removed so status shows it offline.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const running = this.loop;
    this.wanted = false;
    if (running && this.currentTaskId) {
      await Promise.race([running, new Promise((r) => setTimeout(r, graceMs))]);
    }
    this.shutdown.abort();
    await running?.catch(() => undefined);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.bull?.close().catch(() => undefined);
    await this.p.db.query('DELETE FROM core_appstatus WHERE name = $1', [this.name]).catch(() => undefined);
    this.p.logger.info('worker stopped', { worker: this.name });
  }
}
