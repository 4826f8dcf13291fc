import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { startTestPlatform, testPlugin, taskTestPlugin, type TestPlatform } from '@pith/test-utils';

const REPO = '/pulp/api/v3/repositories/test/thing/00000000-0000-7000-8000-000000000001/';

async function taskRow(t: TestPlatform, id: string) {
  return t.platform.db.one<{ state: string; error: Record<string, string> | null; result: unknown }>(
    'SELECT state, error, result FROM core_task WHERE pulp_id = $1', [id]);
}

async function waitState(t: TestPlatform, id: string, states: string[], timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await taskRow(t, id);
    if (row && states.includes(row.state)) return row;
    if (Date.now() > deadline) throw new Error(`task ${id} is ${row?.state}, wanted ${states.join('|')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tasking runtime (real PostgreSQL + Redis)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [testPlugin, taskTestPlugin], workers: 2, env: { PITH_WORKER_TTL: '3' } });
  });
  afterAll(async () => t?.stop());

  const sleepTask = (label: string, ms: number, exclusive: string[], shared: string[] = []) =>
    t.platform.tasks.dispatch({ name: 'tasktest.sleep', payload: { label, ms, exclusive, shared }, exclusive, shared });

  it('runs tasks holding the same exclusive resource one at a time, in FIFO order', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await sleepTask(`fifo-${i}`, 100, [REPO])).pulp_id);
    for (const id of ids) expect((await waitState(t, id, ['completed', 'failed'])).state).toBe('completed');
    const log = await t.platform.db.query<{ label: string; event: string }>(
      "SELECT label, event FROM tasktest_log WHERE label LIKE 'fifo-%' ORDER BY at");
    expect(log.map((r) => `${r.label}:${r.event}`)).toEqual(
      [0, 1, 2, 3, 4].flatMap((i) => [`fifo-${i}:start`, `fifo-${i}:end`]));
  });

  it('lets shared holders run side by side, and an exclusive request waits for them (no overtaking)', async () => {
    const res = 'pdrn:default:shared-test';
    const a = await sleepTask('sh-a', 800, [], [res]);
    const b = await sleepTask('sh-b', 800, [], [res]);
    const c = await sleepTask('sh-c', 10, [res]);
    for (const x of [a, b, c]) await waitState(t, x.pulp_id, ['completed']);
    const log = await t.platform.db.query<{ label: string; event: string }>(
      "SELECT label, event FROM tasktest_log WHERE label LIKE 'sh-%' ORDER BY at");
    const order = log.map((r) => `${r.label}:${r.event}`);
    // both shared tasks start before either ends; the exclusive one starts after both end
    expect(order.indexOf('sh-b:start')).toBeLessThan(order.indexOf('sh-a:end'));
    expect(order.indexOf('sh-c:start')).toBeGreaterThan(order.indexOf('sh-a:end'));
    expect(order.indexOf('sh-c:start')).toBeGreaterThan(order.indexOf('sh-b:end'));
  });

  it('records a failing task with its message, records results and progress', async () => {
    const f = await t.platform.tasks.dispatch({ name: 'tasktest.fail', payload: {}, exclusive: ['pdrn:default:tasktest-fail'] });
    const row = await waitState(t, f.pulp_id, ['completed', 'failed']);
    expect(row.state).toBe('failed');
    expect(row.error).toEqual({ description: 'this task always fails' });
    const ok = await sleepTask('result', 1, ['pdrn:default:r']);
    const done = await waitState(t, ok.pulp_id, ['completed']);
    expect(done.result).toEqual({ slept: 1 });
    const reports = await t.platform.db.query('SELECT code, state, done, total FROM core_progressreport WHERE task_id = $1', [ok.pulp_id]);
    expect(reports).toEqual([{ code: 'tasktest.sleep', state: 'completed', done: 1, total: 1 }]);
  });

  it('rejects a stored payload that does not validate (task fails, nothing runs)', async () => {
    const bad = await t.platform.tasks.dispatch({ name: 'tasktest.sleep', payload: { label: 'x', ms: -1, exclusive: [] } });
    const row = await waitState(t, bad.pulp_id, ['failed', 'completed']);
    expect(row.state).toBe('failed');
    expect(row.error?.description).toMatch(/Invalid task arguments: ms/);
  });

  it('cancels a running task cooperatively and releases its lock', async () => {
    const res = 'pdrn:default:cancel-test';
    const long = await sleepTask('cancel-long', 60_000, [res]);
    const next = await sleepTask('cancel-next', 1, [res]);
    await waitState(t, long.pulp_id, ['running']);
    await t.platform.db.query("UPDATE core_task SET state = 'canceling' WHERE pulp_id = $1", [long.pulp_id]);
    expect((await waitState(t, long.pulp_id, ['canceled', 'failed', 'completed'], 10_000)).state).toBe('canceled');
    expect((await waitState(t, next.pulp_id, ['completed'], 10_000)).state).toBe('completed');
  });

  it('fails the task of a worker killed with SIGKILL and then runs the next task on the same resource', async () => {
    // Stop the in-process workers from claiming the long task first: dispatch it once only the child runs.
    const child: ChildProcess = spawn(process.execPath, ['-r', '@swc-node/register', path.join(__dirname, '../../../test-utils/src/worker-child.ts')], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, REDIS_URL: t.config.REDIS_URL, PITH_MEDIA_ROOT: t.mediaRoot,
        PITH_WORKER_TTL: '3', PITH_LOG_LEVEL: 'error', PITH_TEST_WORKER_NAME: 'doomed-worker', SWC_NODE_PROJECT: path.join(__dirname, '../../../../tsconfig.base.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`worker child exited early (${code})`)));
    });
    await Promise.all(t.workers.map((w) => w.stop(0)));
    try {
      const repo = await t.api('POST', '/pulp/api/v3/repositories/test/thing/', { body: { name: 'victim-repo' } });
      expect(repo.status).toBe(201);
      const res: string = repo.body.pulp_href;
      const repositoryId = res.split('/').slice(-2)[0]!;
      const victim = await t.platform.tasks.dispatch({
        name: 'tasktest.sleep', payload: { label: 'victim', ms: 120_000, exclusive: [res], repository_id: repositoryId }, exclusive: [res] });
      await waitState(t, victim.pulp_id, ['running'], 20_000);
      // the victim is building version 1 when it dies
      for (let i = 0; i < 100; i++) {
        const v = await t.platform.db.one('SELECT 1 AS x FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete', [repositoryId]);
        if (v) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await t.platform.db.one('SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete', [repositoryId])).toEqual({ number: 1 });
      const owner = await t.platform.db.one<{ worker_name: string }>('SELECT worker_name FROM core_task WHERE pulp_id = $1', [victim.pulp_id]);
      expect(owner?.worker_name).toBe('doomed-worker');
      const next = await sleepTask('after-victim', 1, [res]);
      child.kill('SIGKILL');
      const { TaskWorker } = await import('@pith/platform');
      const rescuer = new TaskWorker(t.platform, 'rescuer');
      await rescuer.start();
      t.workers.push(rescuer);
      const failed = await waitState(t, victim.pulp_id, ['failed', 'completed', 'canceled'], 60_000);
      expect(failed.state).toBe('failed');
      expect(failed.error).toEqual({ reason: 'Worker has gone missing.' });
      const incomplete = await t.platform.db.query('SELECT number FROM core_repositoryversion WHERE NOT complete');
      expect(incomplete).toEqual([]);
      const versions = await t.api('GET', `${res}versions/`);
      expect(versions.body.results.map((v: { number: number }) => v.number)).toEqual([0]);
      expect((await waitState(t, next.pulp_id, ['completed'], 30_000)).state).toBe('completed');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
