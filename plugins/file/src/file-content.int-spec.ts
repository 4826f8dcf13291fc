import { createHash } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import filePlugin from './index';

const A = '/pulp/api/v3/';
const FILES = `${A}content/file/files/`;
const REPOS = `${A}repositories/file/file/`;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function upload(fields: Record<string, string>, data?: Buffer): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (data) fd.append('file', new Blob([data]), 'upload.bin');
  return fd;
}

describe('file content', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [filePlugin] });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function done(res: { status: number; body: { task: string } }): Promise<{ state: string; created_resources: string[]; error: unknown }> {
    expect(res.status).toBe(202);
    const task = await t.waitTask(res.body.task);
    return task;
  }

  it('creates a unit from an uploaded file, in Pulp shape', async () => {
    const data = Buffer.from('hello file plugin\n');
    const task = await done(await t.api('POST', FILES, { multipart: upload({ relative_path: 'docs/hello.txt' }, data) }));
    expect(task.state).toBe('completed');
    const href = task.created_resources.find((h) => h.startsWith(FILES))!;
    const r = await t.api('GET', href);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      pulp_href: href,
      prn: expect.stringMatching(/^prn:file\.filecontent:/),
      relative_path: 'docs/hello.txt',
      digest: sha(data),
      artifact: expect.stringMatching(/^\/pulp\/api\/v3\/artifacts\/[0-9a-f-]+\/$/),
    });
    // Same file and path again: the natural key dedupes it.
    const again = await done(await t.api('POST', FILES, { multipart: upload({ relative_path: 'docs/hello.txt' }, data) }));
    expect(again.created_resources).toContain(href);
    const list = await t.api('GET', `${FILES}?sha256=${sha(data)}`);
    expect(list.body.count).toBe(1);
    expect((await t.api('GET', `${FILES}?relative_path__startswith=docs/`)).body.count).toBe(1);
    expect((await t.api('GET', `${FILES}?relative_path=nope`)).body.count).toBe(0);
    expect((await t.api('GET', `${FILES}?digest__in=${sha(data)},${'0'.repeat(64)}`)).body.count).toBe(1);
  });

  it.each([
    [{}, 'This field is required.'],
    [{ relative_path: '/etc/passwd' }, "cannot begin with '/'"],
    [{ relative_path: 'a/../../etc/passwd' }, "'..'"],
    [{ relative_path: 'a//b' }, 'empty path segments'],
  ])('rejects a bad relative_path %j with a 400', async (fields, message) => {
    const r = await t.api('POST', FILES, { multipart: upload(fields as Record<string, string>, Buffer.from('x')) });
    expect(r.status).toBe(400);
    expect(r.body.relative_path[0]).toContain(message);
  });

  it('creates from an existing artifact into a repository; the same path replaces the old unit', async () => {
    const repo = await t.api('POST', REPOS, { body: { name: 'content-repo' } });
    expect(repo.status).toBe(201);
    expect(repo.body).toMatchObject({ autopublish: false, manifest: 'PULP_MANIFEST' });
    expect(repo.body).not.toHaveProperty('last_sync_details');
    const repoHref: string = repo.body.pulp_href;

    const v1 = Buffer.from('version one');
    const art = await t.api('POST', `${A}artifacts/`, { multipart: upload({}, v1) });
    expect(art.status).toBe(201);
    let task = await done(await t.api('POST', FILES, { form: { relative_path: 'a.txt', artifact: art.body.pulp_href, repository: repoHref } }));
    expect(task.state).toBe('completed');
    expect(task.created_resources).toContain(`${repoHref}versions/1/`);
    await done(await t.api('POST', FILES, { multipart: upload({ relative_path: 'b.txt', repository: repoHref }, Buffer.from('b')) }));

    task = await done(await t.api('POST', FILES, { multipart: upload({ relative_path: 'a.txt', repository: repoHref }, Buffer.from('version two')) }));
    expect(task.state).toBe('completed');
    const v3 = await t.api('GET', `${repoHref}versions/3/`);
    expect(v3.body.content_summary.added['file.file'].count).toBe(1);
    expect(v3.body.content_summary.removed['file.file'].count).toBe(1);
    expect(v3.body.content_summary.present['file.file'].count).toBe(2);
    const present = await t.api('GET', `${FILES}?repository_version=${encodeURIComponent(`${repoHref}versions/3/`)}&relative_path=a.txt`);
    expect(present.body.count).toBe(1);
    expect(present.body.results[0].digest).toBe(sha('version two'));
  });

  it('updates repository detail fields and validates them', async () => {
    const repo = await t.api('POST', REPOS, { body: { name: 'detail-repo', autopublish: true, manifest: 'FILES' } });
    expect(repo.status).toBe(201);
    expect(repo.body).toMatchObject({ autopublish: true, manifest: 'FILES' });
    const patched = await t.api('PATCH', repo.body.pulp_href, { body: { manifest: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.manifest).toBeNull();
    const bad = await t.api('POST', REPOS, { body: { name: 'bad-repo', manifest: '../x', autopublish: 'yes' } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body).sort()).toEqual(['autopublish', 'manifest']);
  });
});
