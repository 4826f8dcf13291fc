import { IsArray, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { definePlugin, TaskError, type TaskContext } from '@pith/plugin-api';

export class SleepPayload {
  @IsInt() @Min(0) ms: number;
  @IsArray() @IsString({ each: true }) exclusive: string[];
  @IsOptional() @IsArray() @IsString({ each: true }) shared?: string[];
  @IsString() label: string;
  /** When set, the sleep happens while building a new version of this repository. */
  @IsOptional() @IsString() repository_id?: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });

/**
 * Test-only tasks for the tasking runtime: each records its start/end in `tasktest_log`, so tests
 * can check ordering and overlap from the database.
 */
export const taskTestPlugin = definePlugin({
  apiVersion: 1,
  id: 'tasktest',
  version: '0.0.1',
  tasks: [
    {
      name: 'tasktest.sleep',
      payload: SleepPayload,
      resources: (p: SleepPayload) => ({ exclusive: p.exclusive, shared: p.shared }),
      async run(ctx: TaskContext, p: SleepPayload) {
        await ctx.db.query(`CREATE TABLE IF NOT EXISTS tasktest_log (label text, event text, at timestamptz default clock_timestamp())`).catch(() => undefined);
        await ctx.db.query(`INSERT INTO tasktest_log (label, event) VALUES ($1, 'start')`, [p.label]);
        const progress = await ctx.progress({ message: 'Sleeping', code: 'tasktest.sleep', total: 1 });
        if (p.repository_id) await ctx.versions.create(p.repository_id, () => sleep(p.ms, ctx.signal));
        else await sleep(p.ms, ctx.signal);
        progress.increment();
        await progress.done();
        await ctx.db.query(`INSERT INTO tasktest_log (label, event) VALUES ($1, 'end')`, [p.label]);
        return { slept: p.ms };
      },
    },
    {
      name: 'tasktest.fail',
      resources: () => ({ exclusive: ['pdrn:default:tasktest-fail'] }),
      async run() {
        throw new TaskError('this task always fails');
      },
    },
  ],
});
