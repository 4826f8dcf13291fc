import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const PUBS = '/pulp/api/v3/publications/test/thing/';
const DISTS = '/pulp/api/v3/distributions/test/thing/';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('publications', () => {
  let t: TestPlatform;
  let repo: { pulp_href: string; latest_version_href: string };
  const contentHrefs: Record<string, string> = {};

  /** Stores a file as an artifact and a test.thing unit at `path`. */
  async function thing(path: string, body: string): Promise<string> {
    const a = await t.platform.artifacts.saveStream(Readable.from([Buffer.from(body)]));
    const [id] = await t.platform.content.saveBatch([
      { pulpType: 'test.thing', detail: { name: path, sha256: a.sha256 }, artifacts: [{ relativePath: path, artifactId: a.pulp_id }] },
    ]);
    return `/pulp/api/v3/content/test/things/${id}/`;
  }

  async function task(r: { status: number; body: { task: string } }) {
    expect(r.status).toBe(202);
    const done = await t.waitTask(r.body.task);
    expect(done.state).toBe('completed');
    return done;
  }

  async function publish(body: Record<string, unknown>): Promise<{ task: any; pub?: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await t.api('POST', PUBS, { body });
    expect(r.status).toBe(202);
    const task = await t.waitTask(r.body.task);
    if (task.state !== 'completed') return { task };
    const href = task.created_resources.find((h: string) => h.startsWith(PUBS));
    return { task, pub: (await t.api('GET', href)).body };
  }

  beforeAll(async () => {
    t = await startTestPlatform();
    repo = (await t.api('POST', REPOS, { body: { name: 'pub-repo' } })).body;
    for (const [path, body] of [['a.txt', 'alpha'], ['dir/b.txt', 'bravo'], ['dir/sub/c.txt', 'charlie']]) {
      contentHrefs[path!] = await thing(path!, body!);
    }
    const m = await t.api('POST', `${repo.pulp_href}modify/`, { body: { add_content_units: Object.values(contentHrefs) } });
    expect((await t.waitTask(m.body.task)).state).toBe('completed');
    repo = (await t.api('GET', repo.pulp_href)).body;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('publishes the latest version: published artifacts, metadata, Pulp fields, created_resources', async () => {
    const { task, pub } = await publish({ repository: repo.pulp_href });
    expect(task.state).toBe('completed');
    expect(task.reserved_resources_record).toContain(`shared:${repo.pulp_href}`);
    expect(pub).toEqual({
      pulp_href: expect.stringMatching(/^\/pulp\/api\/v3\/publications\/test\/thing\/[0-9a-f-]{36}\/$/),
      prn: expect.stringMatching(/^prn:test\.thingpublication:[0-9a-f-]{36}$/),
      pulp_created: expect.stringMatching(/\.\d{6}Z$/),
      pulp_last_updated: expect.any(String),
      repository_version: `${repo.pulp_href}versions/1/`,
      repository: repo.pulp_href,
      distributions: [],
      checkpoint: false,
      manifest: 'MANIFEST',
    });
    const id = pub.pulp_href.split('/')[7];
    const rows = await t.platform.db.query('SELECT relative_path FROM core_publishedartifact WHERE publication_id = $1 ORDER BY 1', [id]);
    expect(rows.map((r) => r.relative_path)).toEqual(['a.txt', 'dir/b.txt', 'dir/sub/c.txt']);
    const meta = await t.platform.db.one(
      `SELECT pm.relative_path, a.file FROM core_publishedmetadata pm JOIN core_artifact a ON a.pulp_id = pm.artifact_id WHERE pm.publication_id = $1`,
      [id],
    );
    expect(meta!.relative_path).toBe('MANIFEST');
    expect(readFileSync(t.platform.artifacts.localPath(meta!.file), 'utf8')).toBe(
      `a.txt,${sha('alpha')},5\ndir/b.txt,${sha('bravo')},5\ndir/sub/c.txt,${sha('charlie')},7\n`,
    );
  });

  it('skips an unchanged version unless forced, still naming the publication in created_resources', async () => {
    const first = await publish({ repository_version: `${repo.pulp_href}versions/1/`, manifest: 'SKIP' });
    expect(first.task.result).toEqual({ publication: first.pub.pulp_href, reused: false });
    const again = await publish({ repository: repo.pulp_href, manifest: 'SKIP' });
    expect(again.task.result).toEqual({ publication: first.pub.pulp_href, reused: true });
    expect(again.task.created_resources).toEqual([first.pub.pulp_href]);
    const forced = await publish({ repository: repo.pulp_href, manifest: 'SKIP', force: true });
    expect(forced.pub.pulp_href).not.toBe(first.pub.pulp_href);
    expect(forced.task.result.reused).toBe(false);
  });

  it('never shows an incomplete publication, and a failed publish leaves nothing behind', async () => {
    const before = (await t.api('GET', `${PUBS}?limit=1`)).body.count;
    const r = await t.api('POST', PUBS, { body: { repository: repo.pulp_href, manifest: 'SLOW', delay_ms: 1500 } });
    const deadline = Date.now() + 10_000;
    let sawIncomplete = false;
    for (;;) {
      const rows = await t.platform.db.query(`SELECT complete FROM core_publication p JOIN test_thingpublication d ON d.publication_ptr_id = p.pulp_id WHERE d.manifest = 'SLOW'`);
      if (rows.length && !rows[0]!.complete) {
        sawIncomplete = true;
        const list = await t.api('GET', `${PUBS}?limit=1`);
        expect(list.body.count).toBe(before);
        expect((await t.api('GET', '/pulp/api/v3/publications/?limit=1')).body.count).toBe(before);
        break;
      }
      if (Date.now() > deadline) throw new Error('never saw the incomplete publication');
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(sawIncomplete).toBe(true);
    expect((await t.waitTask(r.body.task)).state).toBe('completed');
    expect((await t.api('GET', `${PUBS}?limit=1`)).body.count).toBe(before + 1);

    const failed = await publish({ repository: repo.pulp_href, manifest: 'FAIL', fail: true });
    expect(failed.task.state).toBe('failed');
    expect(failed.task.error.description).toBe('publication failed on request');
    const left = await t.platform.db.one<{ p: number; d: number; m: number; a: number }>(
      `SELECT (SELECT count(*)::int FROM core_publication WHERE task_id = $1) AS p,
              (SELECT count(*)::int FROM test_thingpublication WHERE manifest = 'FAIL') AS d,
              (SELECT count(*)::int FROM core_publishedmetadata pm WHERE NOT EXISTS (SELECT 1 FROM core_publication x WHERE x.pulp_id = pm.publication_id)) AS m,
              (SELECT count(*)::int FROM core_publishedartifact pa WHERE NOT EXISTS (SELECT 1 FROM core_publication x WHERE x.pulp_id = pa.publication_id)) AS a`,
      [failed.task.pulp_href.split('/')[5]],
    );
    expect(left).toEqual({ p: 0, d: 0, m: 0, a: 0 });
    expect((await t.api('GET', `${PUBS}?limit=1`)).body.count).toBe(before + 1);
  });

  it('removes incomplete publications of a failed or abandoned task through the cleanup hook', async () => {
    const v = await t.platform.db.one<{ pulp_id: string }>('SELECT pulp_id FROM core_repositoryversion WHERE repository_id = $1 AND number = 1', [repo.pulp_href.split('/')[7]]);
    const taskId = '0198c1f7-0000-7000-8000-00000000abcd';
    await t.platform.db.query(`INSERT INTO core_task (pulp_id, state, name) VALUES ($1, 'running', 'test.publish')`, [taskId]);
    await t.platform.db.query(
      `INSERT INTO core_publication (pulp_id, pulp_type, complete, repository_version_id, task_id) VALUES ('0198c1f7-0000-7000-8000-00000000abce', 'test.thing', false, $1, $2)`,
      [v!.pulp_id, taskId],
    );
    await t.platform.db.query(`INSERT INTO test_thingpublication (publication_ptr_id, manifest) VALUES ('0198c1f7-0000-7000-8000-00000000abce', 'X')`);
    await t.platform.db.transaction((tx) => t.platform.runTaskCleanup(taskId, tx));
    expect(await t.platform.db.query('SELECT 1 FROM core_publication WHERE task_id = $1', [taskId])).toEqual([]);
    expect(await t.platform.db.query(`SELECT 1 FROM test_thingpublication WHERE manifest = 'X'`)).toEqual([]);
  });

  it('validates the body: exactly one of repository / repository_version, existing, of this plugin', async () => {
    let r = await t.api('POST', PUBS, { body: {} });
    expect(r.status).toBe(400);
    expect(r.body.non_field_errors[0]).toMatch(/Either the 'repository' or 'repository_version'/);
    r = await t.api('POST', PUBS, { body: { repository: repo.pulp_href, repository_version: `${repo.pulp_href}versions/1/` } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['non_field_errors']);
    r = await t.api('POST', PUBS, { body: { repository_version: `${repo.pulp_href}versions/99/` } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['repository_version']);
    r = await t.api('POST', PUBS, { body: { repository: '/pulp/api/v3/repositories/test/thing/0198c1f7-0000-7000-8000-000000000000/' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['repository']);
    r = await t.api('POST', PUBS, { body: { repository: repo.pulp_href, bogus: 1 } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ bogus: ['Unexpected field'] });
    r = await t.api('POST', PUBS, { body: { repository: repo.pulp_href, manifest: '../etc' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['manifest']);
  });

  it('filters lists by repository, version, content and dates; the generic list includes them', async () => {
    const list = await t.api('GET', `${PUBS}?repository=${encodeURIComponent(repo.pulp_href)}`);
    expect(list.status).toBe(200);
    const n = list.body.count;
    expect(n).toBeGreaterThan(0);
    expect((await t.api('GET', `${PUBS}?repository_version=${encodeURIComponent(`${repo.pulp_href}versions/1/`)}`)).body.count).toBe(n);
    expect((await t.api('GET', `${PUBS}?repository_version=${encodeURIComponent(`${repo.pulp_href}versions/0/`)}`)).body.count).toBe(0);
    expect((await t.api('GET', `${PUBS}?content=${encodeURIComponent(contentHrefs['a.txt']!)}`)).body.count).toBe(n);
    expect((await t.api('GET', `${PUBS}?content__in=${encodeURIComponent(`${contentHrefs['a.txt']},${contentHrefs['dir/b.txt']}`)}`)).body.count).toBe(n);
    const other = await thing('zzz.txt', 'not published');
    expect((await t.api('GET', `${PUBS}?content=${encodeURIComponent(other)}`)).body.count).toBe(0);
    expect((await t.api('GET', `${PUBS}?pulp_created__gte=2000-01-01T00:00:00Z`)).body.count).toBe(n);
    expect((await t.api('GET', `${PUBS}?pulp_created__lt=2000-01-01T00:00:00Z`)).body.count).toBe(0);
    expect((await t.api('GET', `${PUBS}?content=not-a-href`)).status).toBe(400);
    expect((await t.api('GET', `${PUBS}?bogus=1`)).status).toBe(400);
    const generic = await t.api('GET', `/pulp/api/v3/publications/?repository=${encodeURIComponent(repo.pulp_href)}&pulp_type=test.thing`);
    expect(generic.body.count).toBe(n);
    expect(generic.body.results[0].manifest).toBeDefined();
  });

  it('lists the distributions serving a publication, and DELETE removes it (204) with what it published', async () => {
    const { pub } = await publish({ repository: repo.pulp_href, manifest: 'DEL', force: true });
    const id = pub.pulp_href.split('/')[7];
    const metaArtifact = (await t.platform.db.one<{ artifact_id: string }>('SELECT artifact_id FROM core_publishedmetadata WHERE publication_id = $1', [id]))!.artifact_id;
    const cleanup = async () => task(await t.api('POST', '/pulp/api/v3/orphans/cleanup/', { body: { orphan_protection_time: 0 } }));
    // Orphan cleanup keeps what a publication uses: its metadata artifacts included.
    await cleanup();
    expect(await t.platform.artifacts.findById(metaArtifact)).toBeDefined();
    const d = await t.api('POST', DISTS, { body: { name: 'pub-dist', base_path: 'pub-dist', publication: pub.pulp_href } });
    expect(d.status).toBe(201);
    expect((await t.api('GET', pub.pulp_href)).body.distributions).toEqual([d.body.pulp_href]);
    const del = await t.api('DELETE', pub.pulp_href);
    expect(del.status).toBe(204);
    expect((await t.api('GET', pub.pulp_href)).status).toBe(404);
    expect((await t.api('DELETE', pub.pulp_href)).status).toBe(404);
    expect((await t.api('GET', d.body.pulp_href)).body.publication).toBeNull();
    expect(await t.platform.db.query('SELECT 1 FROM core_publishedartifact WHERE publication_id = $1', [id])).toEqual([]);
    expect(await t.platform.db.query('SELECT 1 FROM test_thingpublication WHERE publication_ptr_id = $1', [id])).toEqual([]);
    // Its manifest is now unreferenced; other publications' manifests have other contents.
    const shared = await t.platform.db.one('SELECT 1 FROM core_publishedmetadata WHERE artifact_id = $1', [metaArtifact]);
    await cleanup();
    expect(await t.platform.artifacts.findById(metaArtifact)).toEqual(shared ? expect.anything() : undefined);
  });
});
