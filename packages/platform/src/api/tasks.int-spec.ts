import { startTestPlatform, testPlugin, taskTestPlugin, type TestPlatform } from '@pith/test-utils';
import { uuid7 } from '../util/uuid7';
import { lintOpenApi } from '../openapi/openapi-lint';
import { purgeTasks } from '../tasking/task-purge.task';

const API = '/pulp/api/v3/';
const taskHref = (id: string) => `${API}tasks/${id}/`;
const REPO_A = `${API}repositories/test/thing/00000000-0000-7000-8000-00000000000a/`;
const REPO_B = `${API}repositories/test/thing/00000000-0000-7000-8000-00000000000b/`;

interface Seed {
  name: string;
  state: string;
  finishedAgoMs?: number | null;
  createdAgoMs?: number;
  cid?: string;
  exclusive?: string[];
  shared?: string[];
  created?: string[];
  parent?: string;
  group?: string;
  createdBy?: number;
}

describe('tasks, task-groups and workers REST API', () => {
  let t: TestPlatform;

  /** Inserts a task row directly (final states only, so workers leave it alone). */
  async function seed(s: Seed): Promise<string> {
    const id = uuid7();
    const created = new Date(Date.now() - (s.createdAgoMs ?? 0));
    const finished = s.finishedAgoMs === null ? null : new Date(Date.now() - (s.finishedAgoMs ?? 0));
    await t.platform.db.query(
      `INSERT INTO core_task (pulp_id, pulp_created, pulp_last_updated, state, name, logging_cid, started_at, finished_at,
         exclusive_resources, shared_resources, created_resources, parent_task_id, task_group_id, created_by)
       VALUES ($1, $2, $2, $3, $4, $5, $2, $6, $7, $8, $9, $10, $11, $12)`,
      [id, created, s.state, s.name, s.cid ?? null, finished, s.exclusive ?? [], s.shared ?? [], s.created ?? [],
        s.parent ?? null, s.group ?? null, s.createdBy ?? null],
    );
    return id;
  }

  const list = async (query: string) => {
    const r = await t.api('GET', `${API}tasks/?${query}`);
    if (r.status !== 200) throw new Error(`tasks?${query} → ${r.status} ${r.text}`);
    return r.body as { count: number; next: string | null; results: Array<Record<string, unknown>> };
  };
  const names = async (query: string) => (await list(query)).results.map((r) => r.name).sort();

  const sleepTask = (label: string, ms: number, exclusive: string[]) =>
    t.platform.tasks.dispatch({ name: 'tasktest.sleep', payload: { label, ms, exclusive }, exclusive });

  async function waitState(id: string, states: string[], timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await t.platform.db.one<{ state: string }>('SELECT state FROM core_task WHERE pulp_id = $1', [id]);
      if (row && states.includes(row.state)) return row.state;
      if (Date.now() > deadline) throw new Error(`task ${id} is ${row?.state}, wanted ${states.join('|')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [testPlugin, taskTestPlugin], workers: 1 });
  });
  afterAll(async () => t?.stop());

  describe('list filters', () => {
    const ids: Record<string, string> = {};
    let group: string;

    beforeAll(async () => {
      group = uuid7();
      await t.platform.db.query(`INSERT INTO core_taskgroup (pulp_id, description) VALUES ($1, 'filters')`, [group]);
      ids.a = await seed({ name: 'flt.alpha', state: 'completed', finishedAgoMs: 3 * 3600_000, createdAgoMs: 4 * 3600_000, cid: 'cid-one', exclusive: [REPO_A], created: [REPO_B] });
      ids.b = await seed({ name: 'flt.beta', state: 'failed', finishedAgoMs: 2 * 3600_000, createdAgoMs: 3 * 3600_000, cid: 'cid-two', shared: [REPO_A], parent: ids.a });
      ids.c = await seed({ name: 'flt.gamma', state: 'canceled', finishedAgoMs: 3600_000, createdAgoMs: 2 * 3600_000, exclusive: [REPO_B], shared: [REPO_A], group });
      ids.d = await seed({ name: 'flt.delta', state: 'completed', finishedAgoMs: 0, createdAgoMs: 3600_000, exclusive: [REPO_A, REPO_B], group });
    });

    it('filters by name and counts the filtered total (pulp-glue lookups)', async () => {
      const one = await list('name=flt.alpha&offset=0&limit=1');
      expect(one.count).toBe(1);
      expect(one.results[0]!.pulp_href).toBe(taskHref(ids.a!));
      const page = await list('name__contains=flt.&limit=2');
      expect(page.count).toBe(4);
      expect(page.results).toHaveLength(2);
      expect(page.next).toContain('offset=2');
      expect(await names('name__in=flt.alpha,flt.gamma')).toEqual(['flt.alpha', 'flt.gamma']);
      expect(await names('name__contains=flt.&name__ne=flt.alpha')).toEqual(['flt.beta', 'flt.delta', 'flt.gamma']);
      expect((await list('name=nope')).count).toBe(0);
    });

    it('filters by state, logging_cid and timestamps', async () => {
      expect(await names('name__contains=flt.&state=completed')).toEqual(['flt.alpha', 'flt.delta']);
      expect(await names('name__contains=flt.&state__in=failed,canceled')).toEqual(['flt.beta', 'flt.gamma']);
      expect(await names('name__contains=flt.&state__ne=completed')).toEqual(['flt.beta', 'flt.gamma']);
      expect(await names('logging_cid=cid-one')).toEqual(['flt.alpha']);
      expect(await names('logging_cid__contains=cid-')).toEqual(['flt.alpha', 'flt.beta']);
      const cut = new Date(Date.now() - 90 * 60_000).toISOString();
      expect(await names(`name__contains=flt.&finished_at__lt=${cut}`)).toEqual(['flt.alpha', 'flt.beta']);
      expect(await names(`name__contains=flt.&finished_at__gte=${cut}`)).toEqual(['flt.delta', 'flt.gamma']);
      const lo = new Date(Date.now() - 3.5 * 3600_000).toISOString();
      const hi = new Date(Date.now() - 1.5 * 3600_000).toISOString();
      expect(await names(`name__contains=flt.&pulp_created__range=${lo},${hi}`)).toEqual(['flt.beta', 'flt.gamma']);
      expect(await names('name__contains=flt.&unblocked_at__isnull=true')).toHaveLength(4);
    });

    it('filters by relations: parent, children, group, created and reserved resources', async () => {
      expect(await names(`parent_task=${taskHref(ids.a!)}`)).toEqual(['flt.beta']);
      expect(await names(`parent_task=prn:core.task:${ids.a}`)).toEqual(['flt.beta']);
      expect(await names(`child_tasks=${taskHref(ids.b!)}`)).toEqual(['flt.alpha']);
      expect(await names(`task_group=${API}task-groups/${group}/`)).toEqual(['flt.delta', 'flt.gamma']);
      expect(await names(`created_resources=${REPO_B}`)).toEqual(['flt.alpha']);
      expect(await names(`name__contains=flt.&reserved_resources=${REPO_A}`)).toEqual(['flt.alpha', 'flt.beta', 'flt.delta', 'flt.gamma']);
      expect(await names(`name__contains=flt.&exclusive_resources=${REPO_A}`)).toEqual(['flt.alpha', 'flt.delta']);
      expect(await names(`name__contains=flt.&shared_resources=${REPO_A}`)).toEqual(['flt.beta', 'flt.gamma']);
      // __in requires every listed resource (Pulp chains the conditions)
      expect(await names(`name__contains=flt.&exclusive_resources__in=${REPO_A},${REPO_B}`)).toEqual(['flt.delta']);
      expect(await names(`name__contains=flt.&reserved_resources__in=${REPO_A},${REPO_B}`)).toEqual(['flt.delta', 'flt.gamma']);
      // absolute URLs are reduced to their path
      expect(await names(`name__contains=flt.&exclusive_resources=http://h${REPO_B}`)).toEqual(['flt.delta', 'flt.gamma']);
    });

    it('filters by identity; worker matches nothing but isnull', async () => {
      expect(await names(`pulp_id__in=${ids.a},${ids.c}`)).toEqual(['flt.alpha', 'flt.gamma']);
      expect(await names(`pulp_href__in=${taskHref(ids.b!)},${taskHref(ids.d!)}`)).toEqual(['flt.beta', 'flt.delta']);
      expect(await names(`prn__in=prn:core.task:${ids.d}`)).toEqual(['flt.delta']);
      expect((await list(`name__contains=flt.&worker=${API}workers/${uuid7()}/`)).count).toBe(0);
      expect((await list('name__contains=flt.&worker__isnull=true')).count).toBe(4);
    });

    it('orders by -pulp_created by default, or as asked', async () => {
      expect((await list('name__contains=flt.')).results.map((r) => r.name)).toEqual(['flt.delta', 'flt.gamma', 'flt.beta', 'flt.alpha']);
      expect((await list('name__contains=flt.&ordering=name')).results.map((r) => r.name)).toEqual(['flt.alpha', 'flt.beta', 'flt.delta', 'flt.gamma']);
      expect((await list('name__contains=flt.&ordering=-finished_at')).results.map((r) => r.name)).toEqual(['flt.delta', 'flt.gamma', 'flt.beta', 'flt.alpha']);
    });

    it('rejects unknown filters and bad filter values with 400', async () => {
      const cases: Array<[string, RegExp]> = [
        ['bogus=1', /Invalid Filter: 'bogus'/],
        ['name__regex=x', /Invalid Filter: 'name__regex'/],
        ['state=sleeping', /Select a valid choice/],
        ['parent_task=/pulp/api/v3/artifacts/00000000-0000-7000-8000-000000000001/', /not a task href/],
        ['task_group=garbage', /not a task group href/],
        ['finished_at__lt=yesterday', /not a date-time/],
        ['pulp_id__in=1,2', /not a UUID/],
        ['minimal=perhaps', /expected true or false/],
        ['ordering=secret', /Invalid ordering/],
        ['worker=/pulp/api/v3/tasks/00000000-0000-7000-8000-000000000001/', /not a worker href/],
      ];
      for (const [q, re] of cases) {
        const r = await t.api('GET', `${API}tasks/?${q}`);
        expect([q, r.status]).toEqual([q, 400]);
        expect(r.text).toMatch(re);
      }
    });

    it('serializes the full task as Pulp does, with minimal and field selection variants', async () => {
      await t.platform.db.query(
        `INSERT INTO core_progressreport (pulp_id, pulp_created, message, code, state, total, done, suffix, task_id)
         VALUES ($1, now() - interval '1 second', 'Downloading', 'sync.downloading', 'completed', 10, 10, NULL, $2),
                ($3, now(), 'Parsing', 'sync.parsing', 'completed', NULL, 7, 'x', $2)`,
        [uuid7(), ids.a, uuid7()],
      );
      await t.platform.db.query('UPDATE core_task SET created_by = 1, error = $2, result = $3 WHERE pulp_id = $1',
        [ids.a, JSON.stringify({ description: 'boom' }), JSON.stringify({ n: 1 })]);
      const r = await t.api('GET', taskHref(ids.a!));
      expect(r.status).toBe(200);
      expect(r.headers.get('etag')).toMatch(/^"/);
      const body = r.body;
      expect(Object.keys(body)).toEqual([
        'pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'state', 'name', 'logging_cid', 'created_by',
        'unblocked_at', 'started_at', 'finished_at', 'error', 'worker', 'parent_task', 'child_tasks', 'task_group',
        'progress_reports', 'created_resources', 'created_resource_prns', 'reserved_resources_record', 'result', 'pulp_api_version',
      ]);
      expect(body).toMatchObject({
        pulp_href: taskHref(ids.a!),
        prn: `prn:core.task:${ids.a}`,
        state: 'completed',
        name: 'flt.alpha',
        logging_cid: 'cid-one',
        created_by: `${API}users/1/`,
        unblocked_at: null,
        error: { description: 'boom' },
        worker: null,
        parent_task: null,
        child_tasks: [taskHref(ids.b!)],
        task_group: null,
        progress_reports: [
          { message: 'Downloading', code: 'sync.downloading', state: 'completed', total: 10, done: 10, suffix: null },
          { message: 'Parsing', code: 'sync.parsing', state: 'completed', total: null, done: 7, suffix: 'x' },
        ],
        created_resources: [REPO_B],
        created_resource_prns: [],
        reserved_resources_record: [REPO_A],
        result: { n: 1 },
        pulp_api_version: 'v3',
      });
      expect(body.pulp_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const c = (await t.api('GET', taskHref(ids.c!))).body;
      expect(c.reserved_resources_record).toEqual([REPO_B, `shared:${REPO_A}`]);
      expect(c.task_group).toBe(`${API}task-groups/${group}/`);

      const minimal = await t.api('GET', `${taskHref(ids.a!)}?minimal=true`);
      expect(Object.keys(minimal.body)).toEqual([
        'pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'state', 'name', 'unblocked_at', 'started_at', 'finished_at', 'worker',
      ]);
      const listed = await list('name__contains=flt.&minimal=true');
      expect(Object.keys(listed.results[0]!)).toHaveLength(10);

      const slim = await list('name=flt.alpha&fields=pulp_href,state');
      expect(slim.results).toEqual([{ pulp_href: taskHref(ids.a!), state: 'completed' }]);
      const without = await t.api('GET', `${taskHref(ids.a!)}?exclude_fields=progress_reports,error`);
      expect(without.body.progress_reports).toBeUndefined();
      expect(without.body.error).toBeUndefined();
      expect(without.body.name).toBe('flt.alpha');
    });
  });

  describe('cancel and delete', () => {
    it('cancels a waiting task at once and a running one through its worker; final tasks conflict', async () => {
      const res = `${API}repositories/test/thing/${uuid7()}/`;
      const running = await sleepTask('api-cancel-running', 60_000, [res]);
      const waiting = await sleepTask('api-cancel-waiting', 1, [res]);
      await waitState(running.pulp_id, ['running']);

      const w = await t.api('PATCH', waiting.href, { body: { state: 'canceled' } });
      expect(w.status).toBe(200);
      expect(w.body.state).toBe('canceled');
      expect(w.body.finished_at).toEqual(expect.any(String));
      expect(w.body.started_at).toBeNull();

      const r = await t.api('PATCH', running.href, { body: { state: 'canceled' } });
      expect(r.status).toBe(200);
      expect(['canceling', 'canceled']).toContain(r.body.state);
      expect((await t.waitTask(running.href, 20_000)).state).toBe('canceled');

      // The lock is free again: a new task on the same resource runs.
      const after = await sleepTask('api-cancel-after', 1, [res]);
      expect((await t.waitTask(after.href, 20_000)).state).toBe('completed');

      const again = await t.api('PATCH', running.href, { body: { state: 'canceled' } });
      expect(again.status).toBe(409);
      expect(again.body.detail).toMatch(/final state/);
      const done = await t.api('PATCH', after.href, { body: { state: 'canceled' } });
      expect(done.status).toBe(409);
    });

    it('validates the cancel body and the task href', async () => {
      const id = await seed({ name: 'cancel.body', state: 'completed' });
      const bad = await t.api('PATCH', taskHref(id), { body: { state: 'running' } });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ state: ["The only acceptable value for 'state' is 'canceled'."] });
      const missing = await t.api('PATCH', taskHref(id), { body: {} });
      expect(missing.status).toBe(400);
      expect(missing.body.state).toContain('This field is required.');
      const extra = await t.api('PATCH', taskHref(id), { body: { state: 'canceled', name: 'x' } });
      expect(extra.status).toBe(400);
      expect(extra.body).toEqual({ name: ['Unexpected field'] });
      expect((await t.api('PATCH', taskHref(uuid7()), { body: { state: 'canceled' } })).status).toBe(404);
      expect((await t.api('GET', `${API}tasks/not-a-uuid/`)).status).toBe(404);
      const stale = await t.api('PATCH', taskHref(id), { body: { state: 'canceled' }, headers: { 'If-Match': '"stale"' } });
      expect(stale.status).toBe(412);
    });

    it('deletes only tasks in a final state', async () => {
      const res = `${API}repositories/test/thing/${uuid7()}/`;
      const running = await sleepTask('api-delete-running', 60_000, [res]);
      await waitState(running.pulp_id, ['running']);
      const conflict = await t.api('DELETE', running.href);
      expect(conflict.status).toBe(409);
      expect(conflict.body.detail).toMatch(/running/);
      await t.api('PATCH', running.href, { body: { state: 'canceled' } });
      await t.waitTask(running.href, 20_000);

      const parent = await seed({ name: 'delete.parent', state: 'completed' });
      const child = await seed({ name: 'delete.child', state: 'completed', parent });
      await t.platform.db.query(
        `INSERT INTO core_progressreport (pulp_id, message, code, state, done, task_id) VALUES ($1, 'm', 'c', 'completed', 1, $2)`,
        [uuid7(), parent],
      );
      const del = await t.api('DELETE', taskHref(parent));
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      expect((await t.api('GET', taskHref(parent))).status).toBe(404);
      expect((await t.api('GET', taskHref(child))).body.parent_task).toBeNull();
      expect((await t.api('DELETE', taskHref(parent))).status).toBe(404);
      expect((await t.api('DELETE', running.href)).status).toBe(204);
    });
  });

  describe('purge', () => {
    it('deletes only the selected final states finished before the cut-off', async () => {
      const old = 10 * 86_400_000;
      const keepRecent = await seed({ name: 'purge.recent', state: 'completed', finishedAgoMs: 0 });
      const oldCompleted = await seed({ name: 'purge.old-completed', state: 'completed', finishedAgoMs: old });
      const oldFailed = await seed({ name: 'purge.old-failed', state: 'failed', finishedAgoMs: old });
      const oldCanceled = await seed({ name: 'purge.old-canceled', state: 'canceled', finishedAgoMs: old });
      await t.platform.db.query(
        `INSERT INTO core_progressreport (pulp_id, message, code, state, done, task_id) VALUES ($1, 'm', 'c', 'completed', 1, $2)`,
        [uuid7(), oldCompleted],
      );
      const cut = new Date(Date.now() - 86_400_000).toISOString();
      const r = await t.api('POST', `${API}tasks/purge/`, { body: { finished_before: cut, states: ['completed', 'failed'] } });
      expect(r.status).toBe(202);
      expect(Object.keys(r.body)).toEqual(['task']);
      expect(r.body.task).toMatch(/^\/pulp\/api\/v3\/tasks\/[0-9a-f-]{36}\/$/);
      const task = await t.waitTask(r.body.task, 30_000);
      expect(task.state).toBe('completed');
      expect(task.name).toBe('core.purge');
      const byCode = Object.fromEntries(task.progress_reports.map((p: { code: string; done: number }) => [p.code, p.done]));
      expect(byCode['purge.tasks.key.core.Task']).toBeGreaterThanOrEqual(2);
      expect(byCode['purge.tasks.key.core.ProgressReport']).toBeGreaterThanOrEqual(1);

      const left = await names('name__contains=purge.');
      expect(left).toEqual(['purge.old-canceled', 'purge.recent']);
      expect((await t.api('GET', taskHref(keepRecent))).status).toBe(200);
      expect((await t.api('GET', taskHref(oldCanceled))).status).toBe(200);
      expect((await t.api('GET', taskHref(oldFailed))).status).toBe(404);
      const reports = await t.platform.db.query('SELECT 1 FROM core_progressreport WHERE task_id = $1', [oldCompleted]);
      expect(reports).toHaveLength(0);
    });

    it('defaults to completed tasks older than 30 days', async () => {
      const ancient = await seed({ name: 'purge2.ancient', state: 'completed', finishedAgoMs: 40 * 86_400_000 });
      const ancientFailed = await seed({ name: 'purge2.ancient-failed', state: 'failed', finishedAgoMs: 40 * 86_400_000 });
      const month = await seed({ name: 'purge2.month', state: 'completed', finishedAgoMs: 20 * 86_400_000 });
      const r = await t.api('POST', `${API}tasks/purge/`, { body: {} });
      expect(r.status).toBe(202);
      expect((await t.waitTask(r.body.task, 30_000)).state).toBe('completed');
      expect((await t.api('GET', taskHref(ancient))).status).toBe(404);
      expect((await t.api('GET', taskHref(ancientFailed))).status).toBe(200);
      expect((await t.api('GET', taskHref(month))).status).toBe(200);
    });

    it('deletes in batches until nothing is left, touching only the requested user\'s tasks', async () => {
      const old = 5 * 86_400_000;
      for (let i = 0; i < 5; i++) await seed({ name: `purge3.mine-${i}`, state: 'failed', finishedAgoMs: old, createdBy: 42 });
      await seed({ name: 'purge3.other', state: 'failed', finishedAgoMs: old, createdBy: 7 });
      const progress = jest.fn(async () => ({ increment: jest.fn(), setTotal: jest.fn(), done: jest.fn(async () => undefined) }));
      const ctx = { db: t.platform.db, progress, throwIfCanceled: () => undefined };
      const cut = new Date(Date.now() - 86_400_000).toISOString();
      const counts = await purgeTasks(ctx, { finished_before: cut, states: ['failed', 'running'], created_by: 42 }, 2);
      expect(counts).toEqual({ tasks: 5, progress_reports: 0 });
      expect(progress).toHaveBeenCalledTimes(3);
      expect(await names('name__contains=purge3.')).toEqual(['purge3.other']);
    });

    it('rejects bad purge bodies with field messages', async () => {
      const states = await t.api('POST', `${API}tasks/purge/`, { body: { states: ['running', 'completed'] } });
      expect(states.status).toBe(400);
      expect(states.body).toEqual({ states: ['"running" is not a valid choice.'] });
      const notList = await t.api('POST', `${API}tasks/purge/`, { body: { states: 5 } });
      expect(notList.status).toBe(400);
      expect(Object.keys(notList.body)).toEqual(['states']);
      const when = await t.api('POST', `${API}tasks/purge/`, { body: { finished_before: 'yesterday' } });
      expect(when.status).toBe(400);
      expect(when.body.finished_before[0]).toMatch(/Datetime has wrong format/);
      const extra = await t.api('POST', `${API}tasks/purge/`, { body: { older_than: 3 } });
      expect(extra.status).toBe(400);
      expect(extra.body).toEqual({ older_than: ['Unexpected field'] });
    });
  });

  describe('task groups', () => {
    it('lists and shows groups with per-state counts and minimal tasks, and cancels every member', async () => {
      const group = uuid7();
      await t.platform.db.query(`INSERT INTO core_taskgroup (pulp_id, description, all_tasks_dispatched) VALUES ($1, 'import', true)`, [group]);
      await t.platform.db.query(
        `INSERT INTO core_groupprogressreport (pulp_id, message, code, total, done, task_group_id) VALUES ($1, 'Importing', 'import', 3, 1, $2)`,
        [uuid7(), group],
      );
      const done = await seed({ name: 'grp.done', state: 'completed', group });
      const res = `${API}repositories/test/thing/${uuid7()}/`;
      const running = await t.platform.tasks.dispatch({
        name: 'tasktest.sleep', payload: { label: 'grp-run', ms: 60_000, exclusive: [res] }, exclusive: [res], taskGroupId: group,
      });
      const waiting = await t.platform.tasks.dispatch({
        name: 'tasktest.sleep', payload: { label: 'grp-wait', ms: 1, exclusive: [res] }, exclusive: [res], taskGroupId: group,
      });
      await waitState(running.pulp_id, ['running']);

      const href = `${API}task-groups/${group}/`;
      const g = await t.api('GET', href);
      expect(g.status).toBe(200);
      expect(g.body).toMatchObject({
        pulp_href: href,
        prn: `prn:core.taskgroup:${group}`,
        description: 'import',
        all_tasks_dispatched: true,
        waiting: 1, skipped: 0, running: 1, completed: 1, canceled: 0, failed: 0, canceling: 0,
        group_progress_reports: [{ message: 'Importing', code: 'import', total: 3, done: 1, suffix: null }],
      });
      expect(g.body.tasks.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([taskHref(done), running.href, waiting.href]);
      expect(Object.keys(g.body.tasks[0])).toHaveLength(10);

      const listed = await t.api('GET', `${API}task-groups/?pulp_href__in=${href}`);
      expect(listed.body.count).toBe(1);
      expect(listed.body.results[0].pulp_href).toBe(href);
      expect((await t.api('GET', `${API}task-groups/?name=x`)).status).toBe(400);

      const bad = await t.api('PATCH', href, { body: { state: 'completed' } });
      expect(bad.status).toBe(400);
      const c = await t.api('PATCH', href, { body: { state: 'canceled' } });
      expect(c.status).toBe(200);
      expect(c.body.waiting + c.body.running).toBe(0);
      expect(c.body.completed).toBe(1);
      expect((await t.waitTask(running.href, 20_000)).state).toBe('canceled');
      expect((await t.api('GET', waiting.href)).body.state).toBe('canceled');
      expect((await t.api('GET', `${API}task-groups/${uuid7()}/`)).status).toBe(404);
    });
  });

  describe('workers', () => {
    it('lists workers from their heartbeats, with online/missing/name filters', async () => {
      const name = t.workers[0]!.name;
      const all = await t.api('GET', `${API}workers/?name=${encodeURIComponent(name)}`);
      expect(all.status).toBe(200);
      expect(all.body.count).toBe(1);
      const w = all.body.results[0];
      expect(Object.keys(w)).toEqual(['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'name', 'last_heartbeat', 'versions', 'current_task']);
      expect(w.pulp_href).toMatch(/^\/pulp\/api\/v3\/workers\/[0-9a-f-]{36}\/$/);
      const q = (extra: string) => t.api('GET', `${API}workers/?name=${encodeURIComponent(name)}&${extra}`).then((r) => r.body.count);
      expect(await q('online=true')).toBe(1);
      expect(await q('online=false')).toBe(0);
      expect(await q('missing=true')).toBe(0);
      expect(await q('missing=false')).toBe(1);
      expect(await q(`last_heartbeat__gte=${new Date(Date.now() - 3600_000).toISOString()}`)).toBe(1);
      expect((await t.api('GET', `${API}workers/?name__startswith=test-worker-`)).body.count).toBeGreaterThanOrEqual(1);
      // api processes heartbeat into the same table but are not workers
      const apiRows = await t.platform.db.query<{ pulp_id: string }>("SELECT pulp_id FROM core_appstatus WHERE app_type <> 'worker'");
      for (const row of apiRows) expect((await t.api('GET', `${API}workers/${row.pulp_id}/`)).status).toBe(404);

      const read = await t.api('GET', w.pulp_href);
      expect(read.status).toBe(200);
      expect(read.body.name).toBe(name);
      expect((await t.api('GET', `${API}workers/?online=maybe`)).status).toBe(400);
      expect((await t.api('GET', `${API}workers/?state=x`)).status).toBe(400);
    });
  });

  it('documents the operations with Pulp operationIds', async () => {
    const doc = (await t.api('GET', `${API}docs/api.json`, { auth: false })).body;
    const ids = new Set<string>();
    for (const item of Object.values(doc.paths) as Array<Record<string, { operationId: string }>>) {
      for (const op of Object.values(item)) ids.add(op.operationId);
    }
    for (const id of ['tasks_list', 'tasks_read', 'tasks_cancel', 'tasks_delete', 'tasks_purge', 'task_groups_list', 'task_groups_read', 'task_groups_cancel', 'workers_list', 'workers_read']) {
      expect(ids).toContain(id);
    }
    expect(doc.paths['{task_href}'].patch.operationId).toBe('tasks_cancel');
    const params = doc.paths[`${API}tasks/`].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['state__in', 'name__contains', 'reserved_resources__in', 'pulp_href__in', 'minimal', 'finished_at__range']));
    expect(lintOpenApi(doc)).toEqual([]);
  });
});
