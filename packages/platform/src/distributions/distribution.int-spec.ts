import { Readable } from 'node:stream';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const PUBS = '/pulp/api/v3/publications/test/thing/';
const DISTS = '/pulp/api/v3/distributions/test/thing/';
const DIRECT = '/pulp/api/v3/distributions/test/direct/';
const HEADER_GUARDS = '/pulp/api/v3/contentguards/core/header/';
const REDIRECT_GUARDS = '/pulp/api/v3/contentguards/core/content_redirect/';

describe('distributions and content guards', () => {
  let t: TestPlatform;
  let repo: { pulp_href: string };
  let pub: { pulp_href: string };
  let thingHref: string;

  beforeAll(async () => {
    t = await startTestPlatform({ env: { PITH_CONTENT_ORIGIN: 'https://content.example.com' } });
    repo = (await t.api('POST', REPOS, { body: { name: 'dist-repo' } })).body;
    const a = await t.platform.artifacts.saveStream(Readable.from([Buffer.from('x')]));
    const [id] = await t.platform.content.saveBatch([{ pulpType: 'test.thing', detail: { name: 'x', sha256: a.sha256 }, artifacts: [{ relativePath: 'x', artifactId: a.pulp_id }] }]);
    thingHref = `/pulp/api/v3/content/test/things/${id}/`;
    const m = await t.api('POST', `${repo.pulp_href}modify/`, { body: { add_content_units: [thingHref] } });
    await t.waitTask(m.body.task);
    const p = await t.api('POST', PUBS, { body: { repository: repo.pulp_href } });
    const task = await t.waitTask(p.body.task);
    pub = { pulp_href: task.created_resources[0] };
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates synchronously (201) and serializes in Pulp shape with base_url from the content origin', async () => {
    const r = await t.api('POST', DISTS, { body: { name: 'd-shape', base_path: 'shape/one', publication: pub.pulp_href, repository: null, pulp_labels: { a: 'b' } } });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      pulp_href: expect.stringMatching(/^\/pulp\/api\/v3\/distributions\/test\/thing\/[0-9a-f-]{36}\/$/),
      prn: expect.stringMatching(/^prn:test\.thingdistribution:/),
      pulp_created: expect.any(String),
      pulp_last_updated: expect.any(String),
      base_path: 'shape/one',
      base_url: 'https://content.example.com/pulp/content/shape/one/',
      content_guard: null,
      content_guard_prn: null,
      hidden: false,
      pulp_labels: { a: 'b' },
      name: 'd-shape',
      repository: null,
      repository_version: null,
      publication: pub.pulp_href,
      checkpoint: false,
      no_content_change_since: null,
    });
    const direct = await t.api('POST', DIRECT, { body: { name: 'd-direct', base_path: 'direct-1', repository_version: `${repo.pulp_href}versions/1/` } });
    expect(direct.status).toBe(201);
    expect(direct.body.publication).toBeUndefined();
    expect(direct.body.repository_version).toBe(`${repo.pulp_href}versions/1/`);
    const noPub = await t.api('POST', DIRECT, { body: { name: 'd-direct-2', base_path: 'direct-2', publication: pub.pulp_href } });
    expect(noPub.status).toBe(400);
    expect(noPub.body).toEqual({ publication: ['Unexpected field'] });
  });

  it('rejects nested, equal and malformed base paths with 400 on base_path', async () => {
    expect((await t.api('POST', DISTS, { body: { name: 'n-1', base_path: 'nest/a/b' } })).status).toBe(201);
    for (const bp of ['nest', 'nest/a', 'nest/a/b', 'nest/a/b/c', 'nest/a/b/c/d']) {
      const r = await t.api('POST', DISTS, { body: { name: `n-${bp}`, base_path: bp } });
      expect(r.status).toBe(400);
      expect(r.body.base_path[0]).toMatch(/Overlaps with existing distribution 'n-1'/);
    }
    expect((await t.api('POST', DISTS, { body: { name: 'n-2', base_path: 'nest/a/bc' } })).status).toBe(201);
    expect((await t.api('POST', DISTS, { body: { name: 'n-3', base_path: 'nest/ab' } })).status).toBe(201);
    for (const bp of ['/lead', 'trail/', 'a//b', 'a/../b', './a', 'a/.', 'sp ace', 'per%cent', 'q?x', 'hash#', 'back\\slash', 'ünï', '']) {
      const r = await t.api('POST', DISTS, { body: { name: `bad-${bp}`, base_path: bp } });
      expect(r.status).toBe(400);
      expect(Object.keys(r.body)).toEqual(['base_path']);
    }
    const dup = await t.api('POST', DISTS, { body: { name: 'n-1', base_path: 'other-place' } });
    expect(dup.body).toEqual({ name: ['This field must be unique.'] });
  });

  it('is race-safe: concurrent creates of nested paths let exactly one through', async () => {
    const paths = ['race', 'race/a', 'race/a/b', 'race/a/b/c', 'race/a/b/c/d', 'race/a/b/c/d/e'];
    const results = await Promise.all(paths.map((bp, i) => t.api('POST', DISTS, { body: { name: `race-${i}`, base_path: bp } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(paths.length - 1);
  });

  it('allows at most one of publication / repository / repository_version, also across PATCH', async () => {
    let r = await t.api('POST', DISTS, { body: { name: 'one-1', base_path: 'one-1', publication: pub.pulp_href, repository: repo.pulp_href } });
    expect(r.status).toBe(400);
    expect(r.body.non_field_errors[0]).toMatch(/Only one of/);
    r = await t.api('POST', DISTS, { body: { name: 'one-2', base_path: 'one-2', repository: repo.pulp_href, repository_version: `${repo.pulp_href}versions/1/` } });
    expect(r.status).toBe(400);
    const d = (await t.api('POST', DISTS, { body: { name: 'one-3', base_path: 'one-3', publication: pub.pulp_href } })).body;
    r = await t.api('PATCH', d.pulp_href, { body: { repository: repo.pulp_href } });
    expect(r.status).toBe(400);
    r = await t.api('PATCH', d.pulp_href, { body: { repository: repo.pulp_href, publication: null } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ repository: repo.pulp_href, publication: null });
    r = await t.api('PATCH', d.pulp_href, { body: { repository: '', repository_version: `${repo.pulp_href}versions/1/` } });
    expect(r.body).toMatchObject({ repository: null, repository_version: `${repo.pulp_href}versions/1/` });
    r = await t.api('PATCH', d.pulp_href, { body: { publication: '/pulp/api/v3/publications/test/thing/0198c1f7-0000-7000-8000-000000000000/' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['publication']);
    r = await t.api('PATCH', d.pulp_href, { body: { repository_version: `${repo.pulp_href}versions/7/` } });
    expect(Object.keys(r.body)).toEqual(['repository_version']);
  });

  it('updates with PUT/PATCH (If-Match honoured), rechecks base paths, deletes with 204', async () => {
    const d = (await t.api('POST', DISTS, { body: { name: 'upd', base_path: 'upd/x' } })).body;
    const first = await t.api('GET', d.pulp_href);
    const etag = first.headers.get('etag')!;
    let r = await t.api('PATCH', d.pulp_href, { body: { base_path: 'upd/y', hidden: true }, headers: { 'If-Match': etag } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ base_path: 'upd/y', hidden: true, base_url: 'https://content.example.com/pulp/content/upd/y/' });
    expect((await t.api('PATCH', d.pulp_href, { body: { hidden: false }, headers: { 'If-Match': etag } })).status).toBe(412);
    r = await t.api('PATCH', d.pulp_href, { body: { base_path: 'nest/a/b/z' } });
    expect(r.status).toBe(400);
    expect(r.body.base_path[0]).toMatch(/Overlaps/);
    r = await t.api('PATCH', d.pulp_href, { body: { base_path: 'upd/y' } }); // unchanged: no self-overlap
    expect(r.status).toBe(200);
    r = await t.api('PUT', d.pulp_href, { body: { name: 'upd-2', base_path: 'upd/z' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'upd-2', base_path: 'upd/z', hidden: true });
    r = await t.api('PUT', d.pulp_href, { body: { name: 'upd-2' } });
    expect(r.status).toBe(400);
    expect(r.body.base_path).toEqual(['This field is required.']);
    expect((await t.api('DELETE', d.pulp_href, { headers: { 'If-Match': '"stale"' } })).status).toBe(412);
    expect((await t.api('DELETE', d.pulp_href)).status).toBe(204);
    expect((await t.api('GET', d.pulp_href)).status).toBe(404);
  });

  it('filters by name, base_path lookups, repository, labels and with_content', async () => {
    await t.api('POST', DISTS, { body: { name: 'f-repo', base_path: 'filters/repo', repository: repo.pulp_href, pulp_labels: { team: 'blue' } } });
    await t.api('POST', DISTS, { body: { name: 'f-pub', base_path: 'filters/pub', publication: pub.pulp_href } });
    await t.api('POST', DISTS, { body: { name: 'f-none', base_path: 'filters/none' } });
    const q = async (qs: string) => (await t.api('GET', `${DISTS}?${qs}`)).body.results.map((d: { name: string }) => d.name).sort();
    expect(await q('name__startswith=f-')).toEqual(['f-none', 'f-pub', 'f-repo']);
    expect(await q('base_path=filters/pub')).toEqual(['f-pub']);
    expect(await q('base_path__contains=filters/')).toEqual(['f-none', 'f-pub', 'f-repo']);
    expect(await q('base_path__icontains=FILTERS/R')).toEqual(['f-repo']);
    expect(await q('base_path__in=filters/pub,filters/none')).toEqual(['f-none', 'f-pub']);
    expect(await q(`repository=${encodeURIComponent(repo.pulp_href)}&name__startswith=f-`)).toEqual(['f-repo']);
    expect(await q('pulp_label_select=team=blue')).toEqual(['f-repo']);
    expect(await q(`with_content=${encodeURIComponent(thingHref)}&name__startswith=f-`)).toEqual(['f-pub', 'f-repo']);
    expect((await t.api('GET', `${DISTS}?with_content=nope`)).status).toBe(400);
    expect((await t.api('GET', `${DISTS}?base_path__regex=x`)).status).toBe(400);
    const generic = await t.api('GET', '/pulp/api/v3/distributions/?pulp_type=test.direct');
    expect(generic.body.results.every((d: { pulp_href: string }) => d.pulp_href.startsWith(DIRECT))).toBe(true);
    expect((await t.api('GET', '/pulp/api/v3/distributions/?base_path=filters/pub')).body.count).toBe(1);
  });

  it('content guards: header and content_redirect CRUD, generic list, secret never shown, used by distributions', async () => {
    let r = await t.api('POST', HEADER_GUARDS, { body: { name: 'hg', header_name: 'X-Token', header_value: 's3cret' } });
    expect(r.status).toBe(201);
    const hg = r.body;
    expect(hg).toEqual({
      pulp_href: expect.stringMatching(/^\/pulp\/api\/v3\/contentguards\/core\/header\/[0-9a-f-]{36}\/$/),
      prn: expect.stringMatching(/^prn:core\.headercontentguard:/),
      pulp_created: expect.any(String),
      pulp_last_updated: expect.any(String),
      name: 'hg',
      description: null,
      header_name: 'X-Token',
      header_value: 's3cret',
    });
    r = await t.api('POST', HEADER_GUARDS, { body: { name: 'hg-jq', header_name: 'X-Id', header_value: 'v', jq_filter: '.a' } });
    expect(r.body).toEqual({ jq_filter: ['Unexpected field'] });
    r = await t.api('POST', HEADER_GUARDS, { body: { name: 'hg-bad', header_name: 'bad header', header_value: 'v' } });
    expect(Object.keys(r.body)).toEqual(['header_name']);
    r = await t.api('POST', HEADER_GUARDS, { body: { name: 'hg' , header_name: 'X-A', header_value: 'v' } });
    expect(r.body).toEqual({ name: ['This field must be unique.'] });
    r = await t.api('PATCH', hg.pulp_href, { body: { header_value: 'other' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ header_name: 'X-Token', header_value: 'other' });

    r = await t.api('POST', REDIRECT_GUARDS, { body: { name: 'rg', description: 'signed urls' } });
    expect(r.status).toBe(201);
    const rg = r.body;
    expect(Object.keys(rg)).toEqual(['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'name', 'description']);
    const secret = (await t.platform.db.one('SELECT settings FROM core_contentguard WHERE pulp_id = $1', [rg.pulp_href.split('/')[7]]))!.settings.secret;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    r = await t.api('PATCH', rg.pulp_href, { body: { description: 'changed' } });
    expect(r.body.description).toBe('changed');
    expect((await t.platform.db.one('SELECT settings FROM core_contentguard WHERE pulp_id = $1', [rg.pulp_href.split('/')[7]]))!.settings.secret).toBe(secret);

    const all = await t.api('GET', '/pulp/api/v3/contentguards/');
    expect(all.body.count).toBe(2);
    expect(JSON.stringify(all.body)).not.toContain(secret);
    expect((await t.api('GET', `${HEADER_GUARDS}?name=hg`)).body.count).toBe(1);
    expect((await t.api('GET', `${REDIRECT_GUARDS}?name=hg`)).body.count).toBe(0);

    const d = await t.api('POST', DISTS, { body: { name: 'guarded', base_path: 'guarded', content_guard: hg.pulp_href } });
    expect(d.status).toBe(201);
    expect(d.body.content_guard).toBe(hg.pulp_href);
    expect(d.body.content_guard_prn).toBe(hg.prn);
    r = await t.api('PATCH', d.body.pulp_href, { body: { content_guard: rg.prn } });
    expect(r.body.content_guard).toBe(rg.pulp_href);
    r = await t.api('PATCH', d.body.pulp_href, { body: { content_guard: `${REDIRECT_GUARDS}0198c1f7-0000-7000-8000-000000000000/` } });
    expect(Object.keys(r.body)).toEqual(['content_guard']);
    r = await t.api('PATCH', d.body.pulp_href, { body: { content_guard: repo.pulp_href } });
    expect(Object.keys(r.body)).toEqual(['content_guard']);

    expect((await t.api('DELETE', rg.pulp_href)).status).toBe(204);
    expect((await t.api('GET', d.body.pulp_href)).body.content_guard).toBeNull();
    expect((await t.api('GET', rg.pulp_href)).status).toBe(404);
  });
});
