import { Column, Entity, PrimaryColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { IsBoolean, IsOptional, IsString } from 'class-validator';
import { definePlugin } from '@pith/plugin-api';
import { startTestPlatform, testPlugin, type TestPlatform } from '@pith/test-utils';

/** A plugin whose repository and remote types have detail tables (like file's manifest/autopublish). */
@Entity('rdt_repository')
class RdtRepository {
  @PrimaryColumn('uuid') repository_ptr_id: string;
  @Column('text', { default: 'PULP_MANIFEST' }) manifest: string;
  @Column('boolean', { default: false }) autopublish: boolean;
}

@Entity('rdt_remote')
class RdtRemote {
  @PrimaryColumn('uuid') remote_ptr_id: string;
  @Column('text') upstream_name: string;
}

class RdtInitial1763799999999 implements MigrationInterface {
  name = 'RdtInitial1763799999999';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE rdt_repository (repository_ptr_id uuid PRIMARY KEY REFERENCES core_repository(pulp_id) ON DELETE CASCADE,
      manifest text NOT NULL DEFAULT 'PULP_MANIFEST', autopublish boolean NOT NULL DEFAULT false)`);
    await q.query(`CREATE TABLE rdt_remote (remote_ptr_id uuid PRIMARY KEY REFERENCES core_remote(pulp_id) ON DELETE CASCADE,
      upstream_name text NOT NULL)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rdt_repository; DROP TABLE rdt_remote');
  }
}

class RdtRepositoryDto {
  @IsOptional() @IsString() manifest?: string;
  @IsOptional() @IsBoolean() autopublish?: boolean;
}

class RdtRemoteDto {
  @IsString() upstream_name: string;
}

const rdtPlugin = definePlugin({
  apiVersion: 1,
  id: 'rdt',
  version: '0.0.1',
  entities: [RdtRepository, RdtRemote],
  migrations: [RdtInitial1763799999999],
  repositoryTypes: [{ type: 'rdt', entity: RdtRepository, dto: RdtRepositoryDto, contentTypes: ['test.thing'], remoteTypes: ['rdt.rdt'],
    filters: { manifest: { column: 'manifest', type: 'string', lookups: ['contains'] } } }],
  remoteTypes: [{ type: 'rdt', entity: RdtRemote, dto: RdtRemoteDto, policies: ['on_demand', 'immediate'] }],
});

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const REMOTES = '/pulp/api/v3/remotes/test/thing/';

describe('master/detail CRUD: repositories and remotes', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [testPlugin, rdtPlugin] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates a repository with version 0 and reads it back in Pulp shape', async () => {
    const r = await t.api('POST', REPOS, { body: { name: 'crud-1', description: 'd', pulp_labels: { env: 'prod' } } });
    expect(r.status).toBe(201);
    const repo = r.body;
    expect(Object.keys(repo)).toEqual([
      'pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'versions_href', 'pulp_labels', 'latest_version_href',
      'name', 'description', 'retain_repo_versions', 'retain_checkpoints', 'remote',
    ]);
    expect(repo.pulp_href).toMatch(/^\/pulp\/api\/v3\/repositories\/test\/thing\/[0-9a-f-]{36}\/$/);
    expect(repo.prn).toBe(`prn:test.thingrepository:${repo.pulp_href.split('/')[7]}`);
    expect(repo.latest_version_href).toBe(`${repo.pulp_href}versions/0/`);
    expect(repo.pulp_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const read = await t.api('GET', repo.pulp_href);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(repo);
    expect(read.headers.get('etag')).toBeTruthy();
    const v0 = await t.api('GET', repo.latest_version_href);
    expect(v0.status).toBe(200);
    expect(v0.body).toMatchObject({ number: 0, repository: repo.pulp_href, base_version: null, content_summary: { added: {}, removed: {}, present: {} } });
  });

  it('rejects unknown fields, bad values and duplicate names with 400s naming the field', async () => {
    let r = await t.api('POST', REPOS, { body: { name: 'crud-x', bogus: 1 } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ bogus: ['Unexpected field'] });
    r = await t.api('POST', REPOS, { body: {} });
    expect(r.status).toBe(400);
    expect(r.body.name).toEqual(['This field is required.']);
    r = await t.api('POST', REPOS, { body: { name: 'crud-x', retain_repo_versions: 0 } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['retain_repo_versions']);
    r = await t.api('POST', REPOS, { body: { name: 'crud-x', pulp_labels: { ok: 1 } } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['pulp_labels']);
    r = await t.api('POST', REPOS, { body: { name: 'crud-x', remote: '/pulp/api/v3/artifacts/0198c1f7-0000-7000-8000-000000000000/' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['remote']);
    r = await t.api('POST', REPOS, { body: { name: 'crud-x', remote: '/pulp/api/v3/remotes/test/thing/0198c1f7-0000-7000-8000-000000000000/' } });
    expect(r.status).toBe(400);
    expect(r.body.remote[0]).toMatch(/does not exist/);
    await t.api('POST', REPOS, { body: { name: 'crud-dup' } });
    r = await t.api('POST', REPOS, { body: { name: 'crud-dup' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ name: ['This field must be unique.'] });
    r = await t.api('GET', `${REPOS}?bogus=1`);
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/Invalid Filter/);
    r = await t.api('GET', `${REPOS}not-a-uuid/`);
    expect(r.status).toBe(404);
  });

  it('updates with PUT/PATCH synchronously and answers 412 to a stale If-Match', async () => {
    const repo = (await t.api('POST', REPOS, { body: { name: 'crud-etag' } })).body;
    const first = await t.api('GET', repo.pulp_href);
    const etag = first.headers.get('etag')!;
    const patched = await t.api('PATCH', repo.pulp_href, { body: { description: 'one' }, headers: { 'If-Match': etag } });
    expect(patched.status).toBe(200);
    expect(patched.body.description).toBe('one');
    expect(patched.body.pulp_last_updated > first.body.pulp_last_updated).toBe(true);
    expect(patched.headers.get('etag')).not.toBe(etag);
    const stale = await t.api('PATCH', repo.pulp_href, { body: { description: 'two' }, headers: { 'If-Match': etag } });
    expect(stale.status).toBe(412);
    expect((await t.api('GET', repo.pulp_href)).body.description).toBe('one');
    const put = await t.api('PUT', repo.pulp_href, { body: { name: 'crud-etag-2', retain_repo_versions: 3 }, headers: { 'If-Match': patched.headers.get('etag')! } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'crud-etag-2', retain_repo_versions: 3, description: 'one' });
    const putMissing = await t.api('PUT', repo.pulp_href, { body: { description: 'x' } });
    expect(putMissing.status).toBe(400);
    const nullName = await t.api('PATCH', repo.pulp_href, { body: { name: null } });
    expect(nullName.status).toBe(400);
    const staleDelete = await t.api('DELETE', repo.pulp_href, { headers: { 'If-Match': etag } });
    expect(staleDelete.status).toBe(412);
  });

  it('lists with name lookups, labels, hrefs and ordering; the generic list spans types', async () => {
    for (const n of ['flt-b', 'flt-a', 'flt-c']) await t.api('POST', REPOS, { body: { name: n, pulp_labels: { tier: n === 'flt-a' ? 'gold' : 'silver' } } });
    let r = await t.api('GET', `${REPOS}?name__startswith=flt-`);
    expect(r.body.count).toBe(3);
    expect(r.body.results.map((x: { name: string }) => x.name)).toEqual(['flt-a', 'flt-b', 'flt-c']);
    r = await t.api('GET', `${REPOS}?name__startswith=flt-&ordering=-name&limit=1`);
    expect(r.body.results.map((x: { name: string }) => x.name)).toEqual(['flt-c']);
    expect(r.body.count).toBe(3);
    expect(r.body.next).toContain('offset=1');
    r = await t.api('GET', `${REPOS}?name=flt-b&offset=0&limit=1`);
    expect(r.body.count).toBe(1);
    r = await t.api('GET', `${REPOS}?name__in=flt-a,flt-c`);
    expect(r.body.count).toBe(2);
    r = await t.api('GET', `${REPOS}?name__icontains=FLT-&pulp_label_select=tier=gold`);
    expect(r.body.results.map((x: { name: string }) => x.name)).toEqual(['flt-a']);
    r = await t.api('GET', `${REPOS}?name__startswith=flt-&pulp_label_select=tier!=gold`);
    expect(r.body.count).toBe(2);
    const href = r.body.results[0].pulp_href;
    r = await t.api('GET', `${REPOS}?pulp_href__in=${href}`);
    expect(r.body.results.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([href]);
    r = await t.api('GET', `/pulp/api/v3/repositories/?pulp_type=test.thing&name=flt-a&fields=name,pulp_href`);
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([{ pulp_href: expect.any(String), name: 'flt-a' }]);
    r = await t.api('GET', '/pulp/api/v3/repositories/?pulp_type=nope.nope');
    expect(r.status).toBe(400);
    for (const kind of ['publications', 'distributions', 'contentguards', 'remotes']) {
      const g = await t.api('GET', `/pulp/api/v3/${kind}/`);
      expect(g.status).toBe(200);
    }
  });

  it('creates remotes with write-only secrets, validated URLs and policies', async () => {
    let r = await t.api('POST', REMOTES, { body: { name: 'rem-1', url: 'https://example.com/repo/', password: 's3cret', username: 'u', headers: [{ 'X-A': 'b' }] } });
    expect(r.status).toBe(201);
    const remote = r.body;
    expect(remote.password).toBeUndefined();
    expect(remote.username).toBeUndefined();
    expect(remote.hidden_fields).toEqual([
      { name: 'client_key', is_set: false }, { name: 'proxy_username', is_set: false }, { name: 'proxy_password', is_set: false },
      { name: 'username', is_set: true }, { name: 'password', is_set: true },
    ]);
    expect(remote).toMatchObject({ policy: 'immediate', tls_validation: true, headers: [{ 'X-A': 'b' }], pulp_labels: {} });
    // Stored encrypted; tasks get the values back.
    const stored = await t.platform.db.one<{ username: string; password: string }>('SELECT username, password FROM core_remote WHERE name = $1', ['rem-1']);
    expect(stored!.password).toMatch(/^pith:aes-256-gcm:v1:/);
    expect(stored!.username).toMatch(/^pith:aes-256-gcm:v1:/);
    expect(`${stored!.username}${stored!.password}`).not.toContain('s3cret');
    const info = await t.platform.sync.remote(remote.pulp_href.split('/').at(-2));
    expect(info).toMatchObject({ username: 'u', password: 's3cret', client_key: null });
    r = await t.api('POST', REMOTES, { body: { name: 'rem-2', url: 'https://user:pw@example.com/' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['url']);
    r = await t.api('POST', REMOTES, { body: { name: 'rem-2', url: 'https://example.com/', policy: 'lazy' } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['policy']);
    r = await t.api('POST', REMOTES, { body: { name: 'rem-2', url: 'https://example.com/', download_concurrency: 0 } });
    expect(r.status).toBe(400);
    r = await t.api('PATCH', remote.pulp_href, { body: { policy: 'on_demand', password: null } });
    expect(r.status).toBe(200);
    expect(r.body.policy).toBe('on_demand');
    expect(r.body.hidden_fields.find((h: { name: string }) => h.name === 'password').is_set).toBe(false);

    const repo = (await t.api('POST', REPOS, { body: { name: 'with-remote', remote: remote.pulp_href } })).body;
    expect(repo.remote).toBe(remote.pulp_href);
    r = await t.api('GET', `${REPOS}?remote=${remote.pulp_href}`);
    expect(r.body.results.map((x: { name: string }) => x.name)).toEqual(['with-remote']);

    // Deleting the remote (a task) leaves the repository without one.
    const del = await t.api('DELETE', remote.pulp_href);
    expect(del.status).toBe(202);
    const task = await t.waitTask(del.body.task);
    expect(task.state).toBe('completed');
    expect((await t.api('GET', remote.pulp_href)).status).toBe(404);
    expect((await t.api('GET', repo.pulp_href)).body.remote).toBeNull();
  });

  it('deletes a repository through core.repository_delete', async () => {
    const repo = (await t.api('POST', REPOS, { body: { name: 'to-delete' } })).body;
    const etag = (await t.api('GET', repo.pulp_href)).headers.get('etag')!;
    const del = await t.api('DELETE', repo.pulp_href, { headers: { 'If-Match': etag } });
    expect(del.status).toBe(202);
    const task = await t.waitTask(del.body.task);
    expect(task.state).toBe('completed');
    expect(task.name).toBe('core.repository_delete');
    expect((await t.api('GET', repo.pulp_href)).status).toBe(404);
    const n = await t.platform.db.one('SELECT count(*)::int AS n FROM core_repositoryversion WHERE repository_id = $1', [repo.pulp_href.split('/')[7]]);
    expect(n?.n).toBe(0);
  });

  it('stores, updates, filters and deletes detail fields of types that have a detail table', async () => {
    const RDT_REPOS = '/pulp/api/v3/repositories/rdt/rdt/';
    const RDT_REMOTES = '/pulp/api/v3/remotes/rdt/rdt/';
    let r = await t.api('POST', RDT_REMOTES, { body: { name: 'rdt-remote', url: 'https://example.com/' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ upstream_name: ['This field is required.'] });
    r = await t.api('POST', RDT_REMOTES, { body: { name: 'rdt-remote', url: 'https://example.com/', upstream_name: 'lib/x' } });
    expect(r.status).toBe(201);
    const remote = r.body;
    expect(remote).toMatchObject({ policy: 'on_demand', upstream_name: 'lib/x', prn: expect.stringMatching(/^prn:rdt\.rdtremote:/) });
    // a remote of another type is refused for this repository type
    const other = (await t.api('POST', REMOTES, { body: { name: 'rdt-other', url: 'https://example.com/' } })).body;
    r = await t.api('POST', RDT_REPOS, { body: { name: 'rdt-repo', remote: other.pulp_href } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body)).toEqual(['remote']);
    r = await t.api('POST', RDT_REPOS, { body: { name: 'rdt-repo', remote: remote.pulp_href, autopublish: true } });
    expect(r.status).toBe(201);
    const repo = r.body;
    expect(repo).toMatchObject({ manifest: 'PULP_MANIFEST', autopublish: true, remote: remote.pulp_href });
    expect(Object.keys(repo).slice(-2)).toEqual(['manifest', 'autopublish']);
    r = await t.api('PATCH', repo.pulp_href, { body: { manifest: 'MANIFEST2' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ manifest: 'MANIFEST2', autopublish: true });
    r = await t.api('PATCH', repo.pulp_href, { body: { autopublish: 'yes' } });
    expect(r.status).toBe(400);
    r = await t.api('GET', `${RDT_REPOS}?manifest__contains=NIFEST2`);
    expect(r.body.results.map((x: { name: string }) => x.name)).toEqual(['rdt-repo']);
    r = await t.api('GET', `${RDT_REPOS}?ordering=-manifest`);
    expect(r.status).toBe(200);
    r = await t.api('GET', '/pulp/api/v3/repositories/?name__startswith=rdt-');
    expect(r.body.results[0]).toMatchObject({ name: 'rdt-repo', manifest: 'MANIFEST2' });
    r = await t.api('PATCH', remote.pulp_href, { body: { upstream_name: null } });
    expect(r.status).toBe(400);
    const del = await t.api('DELETE', repo.pulp_href);
    expect((await t.waitTask(del.body.task)).state).toBe('completed');
    expect(await t.platform.db.query('SELECT 1 FROM rdt_repository')).toEqual([]);
  });
});
