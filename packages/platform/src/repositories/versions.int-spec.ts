import { createHash, randomUUID } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { discardIncompleteVersions, IN_VERSION } from './version.service';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const THINGS = '/pulp/api/v3/content/test/things/';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('repository versions', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ workers: 2 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Saves units through the ContentStore (batched SQL), returning their ids. */
  async function things(names: string[], salt = ''): Promise<string[]> {
    return t.platform.content.saveBatch(names.map((name) => ({
      pulpType: 'test.thing',
      detail: { name, sha256: sha(name + salt) },
      artifacts: [{ relativePath: name, artifactId: null }],
    })));
  }
  const href = (id: string) => `${THINGS}${id}/`;
  const repoId = (h: string) => h.split('/')[7]!;

  async function newRepo(name: string): Promise<{ href: string; id: string }> {
    const r = await t.api('POST', REPOS, { body: { name } });
    expect(r.status).toBe(201);
    return { href: r.body.pulp_href, id: repoId(r.body.pulp_href) };
  }

  async function modify(repo: string, body: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await t.api('POST', `${repo}modify/`, { body });
    expect(r.status).toBe(202);
    return t.waitTask(r.body.task);
  }

  /** Membership of version n straight from the ranges. */
  async function members(id: string, n: number): Promise<string[]> {
    const rows = await t.platform.db.query<{ content_id: string }>(
      `SELECT rc.content_id FROM core_repositorycontent rc WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2')} ORDER BY 1`,
      [id, n],
    );
    return rows.map((r) => r.content_id);
  }

  async function openRows(id: string): Promise<string[]> {
    const rows = await t.platform.db.query<{ content_id: string }>(
      'SELECT content_id FROM core_repositorycontent WHERE repository_id = $1 AND version_removed IS NULL ORDER BY 1',
      [id],
    );
    return rows.map((r) => r.content_id);
  }

  async function latestNumber(id: string): Promise<number> {
    const r = await t.platform.db.one<{ n: number }>('SELECT max(number) AS n FROM core_repositoryversion WHERE repository_id = $1 AND complete', [id]);
    return r!.n;
  }

  /** Lists a version's content through the API, page by page. */
  async function listed(versionHref: string, limit = 100): Promise<{ ids: string[]; count: number }> {
    const ids: string[] = [];
    let count = -1;
    for (let offset = 0; ; offset += limit) {
      const r = await t.api('GET', `${THINGS}?repository_version=${versionHref}&limit=${limit}&offset=${offset}`);
      expect(r.status).toBe(200);
      count = r.body.count;
      ids.push(...r.body.results.map((x: { pulp_href: string }) => x.pulp_href.split('/')[7]));
      if (!r.body.next) break;
    }
    return { ids, count };
  }

  it('modify adds and removes, with Pulp-shaped summaries, and lists content by version', async () => {
    const repo = await newRepo('mod-1');
    const [a, b, c] = await things(['a', 'b', 'c'], 'mod-1');
    let task = await modify(repo.href, { add_content_units: [href(a!), href(b!)] });
    expect(task.state).toBe('completed');
    expect(task.created_resources).toEqual([`${repo.href}versions/1/`]);
    const v1 = (await t.api('GET', `${repo.href}versions/1/`)).body;
    expect(Object.keys(v1)).toEqual(['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'number', 'repository', 'base_version', 'content_summary']);
    expect(v1.content_summary).toEqual({
      added: { 'test.thing': { count: 2, href: `${THINGS}?repository_version_added=${repo.href}versions/1/` } },
      removed: {},
      present: { 'test.thing': { count: 2, href: `${THINGS}?repository_version=${repo.href}versions/1/` } },
    });
    task = await modify(repo.href, { add_content_units: [href(c!)], remove_content_units: [`prn:test.thing:${a}`] });
    expect(task.state).toBe('completed');
    const v2 = (await t.api('GET', `${repo.href}versions/2/`)).body;
    expect(v2.content_summary.added['test.thing'].count).toBe(1);
    expect(v2.content_summary.removed['test.thing'].count).toBe(1);
    expect(v2.content_summary.present['test.thing'].count).toBe(2);
    expect((await listed(`${repo.href}versions/2/`)).ids.sort()).toEqual([b!, c!].sort());
    expect((await listed(`${repo.href}versions/1/`)).ids.sort()).toEqual([a!, b!].sort());
    let r = await t.api('GET', `${THINGS}?repository_version_added=${repo.href}versions/2/`);
    expect(r.body.results.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([href(c!)]);
    r = await t.api('GET', `${THINGS}?repository_version_removed=${repo.href}versions/2/`);
    expect(r.body.count).toBe(1);
    r = await t.api('GET', `/pulp/api/v3/content/?repository_version=${repo.href}versions/2/&pulp_type=test.thing`);
    expect(r.body.count).toBe(2);
    r = await t.api('GET', `${THINGS}?repository_version=${repo.href}versions/2/&name=b`);
    expect(r.body.count).toBe(1);
    r = await t.api('GET', `${repo.href}versions/?content=${href(a!)}`);
    expect(r.body.results.map((x: { number: number }) => x.number)).toEqual([1]);
    r = await t.api('GET', `${repo.href}versions/?number__gte=1`);
    expect(r.body.results.map((x: { number: number }) => x.number)).toEqual([2, 1]);
    r = await t.api('GET', `/pulp/api/v3/repository_versions/?content__in=${href(b!)},${href(c!)}`);
    expect(r.body.count).toBe(2);
    expect((await t.api('GET', repo.href)).body.latest_version_href).toBe(`${repo.href}versions/2/`);
    // A change that changes nothing makes no version.
    task = await modify(repo.href, { add_content_units: [href(b!)] });
    expect(task.state).toBe('completed');
    expect(task.created_resources).toEqual([]);
    expect(await latestNumber(repo.id)).toBe(2);
    expect(await openRows(repo.id)).toEqual(await members(repo.id, 2));
  });

  it('rejects bad modify bodies with 400s that name the units', async () => {
    const repo = await newRepo('mod-bad');
    const other = await newRepo('mod-bad-other');
    const missing = `${THINGS}${randomUUID()}/`;
    let r = await t.api('POST', `${repo.href}modify/`, { body: { add_content_units: [missing] } });
    expect(r.status).toBe(400);
    expect(r.body.add_content_units[0]).toContain(missing);
    r = await t.api('POST', `${repo.href}modify/`, { body: { add_content_units: ['/pulp/api/v3/artifacts/x/'] } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['add_content_units']);
    r = await t.api('POST', `${repo.href}modify/`, { body: { remove_content_units: ['*', missing] } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['remove_content_units']);
    r = await t.api('POST', `${repo.href}modify/`, { body: { base_version: `${other.href}versions/0/` } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['base_version']);
    r = await t.api('POST', `${repo.href}modify/`, { body: { base_version: `${repo.href}versions/7/` } });
    expect(r.status).toBe(400);
    r = await t.api('POST', `${repo.href}modify/`, { body: { add_content_units: 'x' } });
    expect(r.status).toBe(400);
    r = await t.api('POST', `${repo.href}modify/`, { body: { extra: 1 } });
    expect(r.body).toEqual({ extra: ['Unexpected field'] });
    expect((await t.api('GET', `${repo.href}versions/1/`)).status).toBe(404);
  });

  it('remove ["*"] empties; base_version starts from an older version', async () => {
    const repo = await newRepo('mod-base');
    const [a, b, c, d] = await things(['a', 'b', 'c', 'd'], 'mod-base');
    await modify(repo.href, { add_content_units: [href(a!)] });
    await modify(repo.href, { add_content_units: [href(b!)] });
    let task = await modify(repo.href, { remove_content_units: ['*'], add_content_units: [href(c!)] });
    expect(task.state).toBe('completed');
    expect(await members(repo.id, 3)).toEqual([c!]);
    task = await modify(repo.href, { base_version: `${repo.href}versions/1/`, add_content_units: [href(d!)] });
    expect(task.state).toBe('completed');
    expect(await members(repo.id, 4)).toEqual([a!, d!].sort());
    const v4 = (await t.api('GET', `${repo.href}versions/4/`)).body;
    expect(v4.base_version).toBe(`${repo.href}versions/1/`);
    expect(v4.content_summary.added['test.thing'].count).toBe(2);
    expect(v4.content_summary.removed['test.thing'].count).toBe(1);
    expect(v4.content_summary.present['test.thing'].count).toBe(2);
    expect(await openRows(repo.id)).toEqual(await members(repo.id, 4));
    for (const n of [1, 2, 3]) expect((await listed(`${repo.href}versions/${n}/`)).ids.length).toBe(n === 2 ? 2 : 1);
  });

  it('replaces units with the same repository key and refuses two new ones', async () => {
    const repo = await newRepo('mod-key');
    const [old] = await things(['same'], 'v1');
    const [nw] = await things(['same'], 'v2');
    const [nw2] = await things(['same'], 'v3');
    await modify(repo.href, { add_content_units: [href(old!)] });
    let task = await modify(repo.href, { add_content_units: [href(nw!)] });
    expect(task.state).toBe('completed');
    expect(await members(repo.id, 2)).toEqual([nw!]);
    const v2 = (await t.api('GET', `${repo.href}versions/2/`)).body;
    expect(v2.content_summary.removed['test.thing'].count).toBe(1);
    expect(v2.content_summary.present['test.thing'].count).toBe(1);
    task = await modify(repo.href, { add_content_units: [href(old!), href(nw2!)] });
    expect(task.state).toBe('failed');
    expect(task.error.description).toMatch(/same repository key/);
    expect(await openRows(repo.id)).toEqual([nw!]);
    expect(await t.platform.db.query('SELECT 1 FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete', [repo.id])).toEqual([]);
  });

  it('a failed build restores the open rows; discardIncompleteVersions cleans up after a dead task', async () => {
    const repo = await newRepo('mod-fail');
    const [a, b, c] = await things(['a', 'b', 'c'], 'mod-fail');
    await t.platform.versions.create(repo.id, async (v) => { await v.add([a!, b!]); });
    const before = await openRows(repo.id);
    await expect(t.platform.versions.create(repo.id, async (v) => {
      await v.remove([a!]);
      await v.add([c!]);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await openRows(repo.id)).toEqual(before);
    expect(await latestNumber(repo.id)).toBe(1);

    const taskId = randomUUID();
    let release!: () => void;
    const hold = new Promise<void>((res) => (release = res));
    let reached!: () => void;
    const atHold = new Promise<void>((res) => (reached = res));
    const running = t.platform.versions.forTask(taskId).create(repo.id, async (v) => {
      await v.remove('*');
      await v.add([c!]);
      reached();
      await hold;
      throw new Error('worker died');
    });
    await atHold;
    // Readers of complete versions are unaffected while version 2 is being built.
    expect((await listed(`${repo.href}versions/1/`)).ids.sort()).toEqual(before);
    expect((await t.api('GET', `${repo.href}versions/2/`)).status).toBe(404);
    expect((await t.api('GET', `${repo.href}versions/`)).body.count).toBe(2);
    expect(await discardIncompleteVersions(t.platform.db, taskId)).toBe(1);
    expect(await openRows(repo.id)).toEqual(before);
    release();
    await expect(running).rejects.toThrow('worker died');
    expect(await openRows(repo.id)).toEqual(before);
    const v = await t.platform.versions.create(repo.id, async (b2) => { await b2.add([c!]); });
    expect(v?.number).toBe(2);
  });

  it('mirror builds: add counts new units, markSeen/removeUnseen drop what upstream no longer has', async () => {
    const repo = await newRepo('mirror');
    const [a, b, c, d, e] = await things(['a', 'b', 'c', 'd', 'e'], 'mirror');
    await t.platform.versions.create(repo.id, async (v) => {
      expect(await v.add([a!, b!, c!])).toBe(3);
    });
    let removed = -1;
    const v2 = await t.platform.versions.create(repo.id, async (v) => {
      const present: string[] = [];
      for await (const batch of v.presentContentIds(2)) present.push(...batch);
      expect(present).toEqual([a!, b!, c!].sort());
      expect(await v.add([b!, d!])).toBe(1);
      await v.markSeen([b!, d!]);
      removed = await v.removeUnseen();
    });
    expect(v2?.number).toBe(2);
    expect(removed).toBe(2);
    expect(await members(repo.id, 2)).toEqual([b!, d!].sort());
    // Starting from version 1 (base): only what is seen survives, relative to that base.
    const v3 = await t.platform.versions.create(repo.id, async (v) => {
      await v.add([e!]);
      await v.markSeen([a!, e!]);
      await v.removeUnseen();
    }, { baseVersion: 1 });
    expect(await members(repo.id, v3!.number)).toEqual([a!, e!].sort());
    expect(await openRows(repo.id)).toEqual([a!, e!].sort());
    const seen = await t.platform.db.query('SELECT 1 FROM core_repositoryversion_seen');
    expect(seen).toEqual([]);
  });

  it('deleting versions squashes them: every other version keeps exactly its content', async () => {
    const repo = await newRepo('squash');
    const u = await things(['s0', 's1', 's2', 's3', 's4', 's5'], 'squash');
    const steps: Array<{ add?: number[]; remove?: number[] }> = [
      { add: [0, 1, 2] }, // 1
      { remove: [1], add: [3] }, // 2
      { add: [1], remove: [0] }, // 3: 1 comes back
      { add: [4], remove: [3] }, // 4
      { add: [5, 0] }, // 5
      { remove: [2, 5] }, // 6
    ];
    for (const s of steps) {
      const task = await modify(repo.href, {
        add_content_units: (s.add ?? []).map((i) => href(u[i]!)),
        remove_content_units: (s.remove ?? []).map((i) => href(u[i]!)),
      });
      expect(task.state).toBe('completed');
    }
    const expected = new Map<number, string[]>();
    for (let n = 0; n <= 6; n++) expected.set(n, await members(repo.id, n));
    const check = async () => {
      const nums = (await t.platform.db.query<{ number: number }>(
        'SELECT number FROM core_repositoryversion WHERE repository_id = $1 AND complete ORDER BY number', [repo.id],
      )).map((r) => r.number);
      let prev: string[] = [];
      for (const n of nums) {
        const m = await members(repo.id, n);
        expect(m).toEqual(expected.get(n));
        const v = (await t.api('GET', `${repo.href}versions/${n}/`)).body;
        const s = v.content_summary;
        expect(s.present['test.thing']?.count ?? 0).toBe(m.length);
        expect(s.added['test.thing']?.count ?? 0).toBe(m.filter((x) => !prev.includes(x)).length);
        expect(s.removed['test.thing']?.count ?? 0).toBe(prev.filter((x) => !m.includes(x)).length);
        prev = m;
      }
      expect(await openRows(repo.id)).toEqual(expected.get(nums[nums.length - 1]!));
      return nums;
    };
    const del = async (n: number) => {
      const r = await t.api('DELETE', `${repo.href}versions/${n}/`);
      expect(r.status).toBe(202);
      return t.waitTask(r.body.task);
    };
    expect((await del(3)).state).toBe('completed');
    expect(await check()).toEqual([0, 1, 2, 4, 5, 6]);
    expect((await del(2)).state).toBe('completed');
    expect(await check()).toEqual([0, 1, 4, 5, 6]);
    expect((await del(6)).state).toBe('completed'); // the latest: its changes are reverted
    expect(await check()).toEqual([0, 1, 4, 5]);
    expect((await t.api('GET', repo.href)).body.latest_version_href).toBe(`${repo.href}versions/5/`);
    expect((await del(0)).state).toBe('completed');
    expect(await check()).toEqual([1, 4, 5]);
    expect((await del(1)).state).toBe('completed');
    expect((await del(5)).state).toBe('completed');
    expect(await check()).toEqual([4]);
    // numbers are never reused
    const task = await modify(repo.href, { add_content_units: [href(u[5]!)] });
    expect(task.created_resources).toEqual([`${repo.href}versions/7/`]);
    expect((await del(7)).state).toBe('completed');
    const last = await del(4);
    expect(last.state).toBe('failed');
    expect(last.error.description).toMatch(/at least one repository version/);
    expect(await check()).toEqual([4]);
    expect((await t.api('DELETE', `${repo.href}versions/99/`)).status).toBe(404);
  });

  it('retain_repo_versions keeps only the newest versions', async () => {
    const r = await t.api('POST', REPOS, { body: { name: 'retain', retain_repo_versions: 2 } });
    const repo = { href: r.body.pulp_href as string, id: repoId(r.body.pulp_href) };
    const u = await things(['r0', 'r1', 'r2'], 'retain');
    for (const id of u) await modify(repo.href, { add_content_units: [href(id)] });
    const nums = (await t.api('GET', `${repo.href}versions/`)).body.results.map((x: { number: number }) => x.number);
    expect(nums).toEqual([3, 2]);
    expect(await members(repo.id, 2)).toEqual([u[0]!, u[1]!].sort());
    // Lowering the setting prunes right away (through core.repository_retention).
    const patched = await t.api('PATCH', repo.href, { body: { retain_repo_versions: 1 } });
    expect(patched.status).toBe(200);
    const deadline = Date.now() + 10_000;
    let left: number[] = [];
    while (Date.now() < deadline) {
      left = (await t.api('GET', `${repo.href}versions/`)).body.results.map((x: { number: number }) => x.number);
      if (left.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(left).toEqual([3]);
    expect(await members(repo.id, 3)).toEqual([...u].sort());
  });

  it('pages deep into a large version exactly (cached page boundaries)', async () => {
    const repo = await newRepo('deep');
    const ids = await things(Array.from({ length: 2345 }, (_, i) => `d${i}`), 'deep');
    await t.platform.versions.create(repo.id, async (v) => { await v.add(ids.slice(0, 1500)); });
    await t.platform.versions.create(repo.id, async (v) => {
      await v.remove(ids.slice(0, 300));
      await v.add(ids.slice(1500));
    });
    for (const n of [1, 2]) {
      const expected = await members(repo.id, n);
      const got = await listed(`${repo.href}versions/${n}/`, 100);
      expect(got.count).toBe(expected.length);
      expect(got.ids).toEqual(expected);
      for (const offset of [998, 999, 1000, 1001, 1999, 2000, expected.length - 1, expected.length, expected.length + 500]) {
        const r = await t.api('GET', `${THINGS}?repository_version=${repo.href}versions/${n}/&limit=3&offset=${offset}`);
        expect(r.body.results.map((x: { pulp_href: string }) => x.pulp_href.split('/')[7])).toEqual(expected.slice(offset, offset + 3));
      }
    }
  });

  it('50 concurrent modify calls make versions 1..50, lose nothing, and readers never see an incomplete version', async () => {
    const repo = await newRepo('concurrent');
    const ids = await things(Array.from({ length: 50 }, (_, i) => `c${i}`), 'concurrent');
    let stop = false;
    const problems: string[] = [];
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const list = await t.api('GET', `${repo.href}versions/?limit=100`);
        for (const v of list.body.results as Array<{ number: number; pulp_href: string; content_summary: any }>) { // eslint-disable-line @typescript-eslint/no-explicit-any
          const present = v.content_summary.present['test.thing']?.count ?? 0;
          if (present !== v.number) problems.push(`version ${v.number} lists present=${present}`);
        }
        const latest = (await t.api('GET', repo.href)).body.latest_version_href as string;
        const n = Number(latest.split('/').slice(-2)[0]);
        const read = await t.api('GET', latest);
        if (read.status !== 200) problems.push(`latest ${latest} → ${read.status}`);
        const content = await t.api('GET', `${THINGS}?repository_version=${latest}&limit=100`);
        if (content.body.count !== n || content.body.results.length !== n) {
          problems.push(`version ${n}: count ${content.body.count}, ${content.body.results.length} results`);
        }
        const next = await t.api('GET', `${repo.href}versions/${n + 1}/`);
        if (next.status === 200) {
          const c2 = await t.api('GET', `${THINGS}?repository_version=${repo.href}versions/${n + 1}/&limit=100`);
          if (c2.body.results.length !== n + 1) problems.push(`version ${n + 1} readable with ${c2.body.results.length} units`);
        }
        reads++;
      }
    })();
    const dispatched = await Promise.all(ids.map((id) => t.api('POST', `${repo.href}modify/`, { body: { add_content_units: [href(id)] } })));
    const tasks = await Promise.all(dispatched.map((d) => t.waitTask(d.body.task, 120_000)));
    stop = true;
    await reader;
    expect(tasks.map((x) => x.state)).toEqual(tasks.map(() => 'completed'));
    const created = tasks.flatMap((x) => x.created_resources as string[]).sort();
    expect(created).toEqual(Array.from({ length: 50 }, (_, i) => `${repo.href}versions/${i + 1}/`).sort());
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const final = await listed(`${repo.href}versions/50/`, 7);
    expect(final.count).toBe(50);
    expect(final.ids.sort()).toEqual([...ids].sort());
    for (let n = 1; n <= 50; n++) expect((await members(repo.id, n)).length).toBe(n);
  });
});
