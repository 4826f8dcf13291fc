import { createHash, randomBytes } from 'node:crypto';
import type { ContentTypeDefinition, PluginDefinition } from '@pith/plugin-api';
import { startTestPlatform, testPlugin, TestThingCreateDto, type TestPlatform } from '@pith/test-utils';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const THINGS = '/pulp/api/v3/content/test/things/';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The test plugin plus the content-create hook (name given by the client, sha256 from the artifact). */
const thing = testPlugin.contentTypes![0]!;
const plugin: PluginDefinition = {
  ...testPlugin,
  contentTypes: [{
    ...thing,
    createDto: TestThingCreateDto,
    fromArtifact: (body, artifact) => ({ detail: { name: body.name, sha256: artifact.sha256 }, relativePath: String(body.relative_path ?? body.name) }),
  } satisfies ContentTypeDefinition],
};

describe('content store and content API', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [plugin] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const unit = (name: string, salt = '') => ({
    pulpType: 'test.thing',
    detail: { name, sha256: sha(name + salt) },
    artifacts: [{ relativePath: name, artifactId: null }],
  });

  it('saveBatch dedupes by natural key, within a batch and across concurrent batches', async () => {
    const ids = await t.platform.content.saveBatch([unit('n1'), unit('n2'), unit('n1')]);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[0]).not.toBe(ids[1]);
    const again = await t.platform.content.saveBatch([unit('n2'), unit('n3')]);
    expect(again[0]).toBe(ids[1]);
    const many = Array.from({ length: 300 }, (_, i) => unit(`race${i}`));
    const results = await Promise.all([0, 1, 2, 3].map(() => t.platform.content.saveBatch(many)));
    for (const r of results) expect(r).toEqual(results[0]);
    const counts = await t.platform.db.one<{ c: number; d: number; ca: number }>(
      `SELECT (SELECT count(*)::int FROM core_content WHERE pulp_type = 'test.thing') AS c,
              (SELECT count(*)::int FROM test_thing) AS d,
              (SELECT count(*)::int FROM core_contentartifact) AS ca`,
    );
    expect(counts).toEqual({ c: 303, d: 303, ca: 303 });
    await expect(t.platform.content.saveBatch([{ ...unit('bad'), detail: { name: 'bad', sha256: 'x', nope: 1 } }])).rejects.toThrow(/nope/);
  });

  it('fills in a missing artifact when a saved on-demand unit comes back downloaded', async () => {
    const art = await t.api('POST', '/pulp/api/v3/artifacts/', { multipart: form({ file: Buffer.from('on-demand body') }) });
    expect(art.status).toBe(201);
    const artifactId = art.body.pulp_href.split('/')[5];
    const [id] = await t.platform.content.saveBatch([unit('od')]);
    const [same] = await t.platform.content.saveBatch([{ ...unit('od'), artifacts: [{ relativePath: 'od', artifactId }] }]);
    expect(same).toBe(id);
    const read = await t.api('GET', `${THINGS}${id}/`);
    expect(read.body.artifact).toBe(art.body.pulp_href);
  });

  it('serializes content in Pulp shape and filters lists', async () => {
    const [id] = await t.platform.content.saveBatch([{ ...unit('shape'), pulpLabels: { color: 'blue' } }]);
    const r = await t.api('GET', `${THINGS}${id}/`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      pulp_href: `${THINGS}${id}/`,
      prn: `prn:test.thing:${id}`,
      pulp_created: expect.stringMatching(/\.\d{6}Z$/),
      pulp_last_updated: expect.any(String),
      pulp_labels: { color: 'blue' },
      artifact: null,
      name: 'shape',
      sha256: sha('shape'),
    });
    let l = await t.api('GET', `${THINGS}?name=shape`);
    expect(l.body.count).toBe(1);
    l = await t.api('GET', `${THINGS}?name__in=shape,n1`);
    expect(l.body.count).toBe(2);
    l = await t.api('GET', `${THINGS}?pulp_label_select=color~BLU`);
    expect(l.body.results.map((x: { name: string }) => x.name)).toEqual(['shape']);
    l = await t.api('GET', `${THINGS}?pulp_href__in=${THINGS}${id}/`);
    expect(l.body.count).toBe(1);
    l = await t.api('GET', `${THINGS}?orphaned_for=0&name=shape`);
    expect(l.body.count).toBe(1);
    l = await t.api('GET', `${THINGS}?ordering=-name&limit=2`);
    expect(l.body.results.map((x: { name: string }) => x.name)).toEqual(['shape', 'race99']);
    l = await t.api('GET', '/pulp/api/v3/content/?pulp_type__in=test.thing&limit=1');
    expect(l.status).toBe(200);
    expect(l.body.results[0].pulp_href).toMatch(/^\/pulp\/api\/v3\/content\/test\/things\//);
    l = await t.api('GET', `${THINGS}?repository_version=/pulp/api/v3/repositories/test/thing/${id}/versions/1/`);
    expect(l.status).toBe(400);
    l = await t.api('GET', `${THINGS}?sha256=x`);
    expect(l.status).toBe(400);
    expect((await t.api('GET', `${THINGS}${randomBytes(2).toString('hex')}/`)).status).toBe(404);
  });

  it('creates content from an artifact, a multipart file or an upload, optionally into a repository', async () => {
    const repo = (await t.api('POST', REPOS, { body: { name: 'content-create' } })).body;
    const body = Buffer.from('hello world');
    const art = (await t.api('POST', '/pulp/api/v3/artifacts/', { multipart: form({ file: body }) })).body;
    let r = await t.api('POST', THINGS, { form: { artifact: art.pulp_href, name: 'hello', relative_path: 'hello.txt', repository: repo.pulp_href } });
    expect(r.status).toBe(202);
    let task = await t.waitTask(r.body.task);
    expect(task.state).toBe('completed');
    const contentHref = task.created_resources.find((h: string) => h.startsWith(THINGS));
    expect(task.created_resources).toContain(`${repo.pulp_href}versions/1/`);
    const c = (await t.api('GET', contentHref)).body;
    expect(c).toMatchObject({ name: 'hello', sha256: sha(body), artifact: art.pulp_href });

    const fileBody = randomBytes(5000);
    r = await t.api('POST', THINGS, { multipart: form({ file: fileBody, name: 'from-file', pulp_labels: '{"a":"b"}' }) });
    expect(r.status).toBe(202);
    task = await t.waitTask(r.body.task);
    expect(task.state).toBe('completed');
    const fromFile = (await t.api('GET', task.created_resources[0])).body;
    expect(fromFile).toMatchObject({ name: 'from-file', sha256: sha(fileBody), pulp_labels: { a: 'b' } });
    expect(fromFile.artifact).toMatch(/^\/pulp\/api\/v3\/artifacts\//);

    const upBody = randomBytes(3000);
    const up = (await t.api('POST', '/pulp/api/v3/uploads/', { body: { size: upBody.length } })).body;
    const put = await t.api('PUT', up.pulp_href, { multipart: form({ file: upBody }), headers: { 'Content-Range': `bytes 0-${upBody.length - 1}/${upBody.length}` } });
    expect(put.status).toBe(200);
    r = await t.api('POST', THINGS, { form: { upload: up.pulp_href, name: 'from-upload', repository: repo.pulp_href } });
    expect(r.status).toBe(202);
    task = await t.waitTask(r.body.task);
    expect(task.state).toBe('completed');
    expect(task.created_resources).toContain(`${repo.pulp_href}versions/2/`);
    expect((await t.api('GET', up.pulp_href)).status).toBe(404);

    // Same name again: the repository key replaces the older unit in the new version.
    r = await t.api('POST', THINGS, { multipart: form({ file: Buffer.from('v2'), name: 'hello', repository: repo.pulp_href }) });
    task = await t.waitTask(r.body.task);
    expect(task.state).toBe('completed');
    const v3 = (await t.api('GET', `${repo.pulp_href}versions/3/`)).body;
    expect(v3.content_summary.present['test.thing'].count).toBe(2);
    expect(v3.content_summary.removed['test.thing'].count).toBe(1);

    r = await t.api('POST', THINGS, { form: { name: 'x' } });
    expect(r.status).toBe(400);
    expect(r.body.non_field_errors).toBeDefined();
    r = await t.api('POST', THINGS, { form: { artifact: art.pulp_href, upload: up.pulp_href, name: 'x' } });
    expect(r.status).toBe(400);
    r = await t.api('POST', THINGS, { form: { artifact: art.pulp_href } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['name']);
    r = await t.api('POST', THINGS, { form: { artifact: '/pulp/api/v3/artifacts/0198c1f7-0000-7000-8000-000000000000/', name: 'x' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['artifact']);
    r = await t.api('POST', THINGS, { form: { artifact: art.pulp_href, name: 'x', bogus: '1' } });
    expect(r.body).toEqual({ bogus: ['Unexpected field'] });
  });
});

function form(fields: Record<string, Buffer | string>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (Buffer.isBuffer(v)) fd.append(k, new Blob([v]), 'upload.bin');
    else fd.append(k, v);
  }
  return fd;
}
