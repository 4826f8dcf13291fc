import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import filePlugin from './index';

const A = '/pulp/api/v3/';
const FILES = `${A}content/file/files/`;
const REPOS = `${A}repositories/file/file/`;
const PUBS = `${A}publications/file/file/`;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('file publish', () => {
  let t: TestPlatform;
  let repo: string;
  const files: Record<string, string> = { 'b/two.txt': 'second file', 'a.txt': 'first', 'b/a,comma.txt': 'with comma' };

  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [filePlugin] });
    const r = await t.api('POST', REPOS, { body: { name: 'to-publish' } });
    repo = r.body.pulp_href;
    for (const [p, body] of Object.entries(files)) {
      const fd = new FormData();
      fd.append('relative_path', p);
      fd.append('repository', repo);
      fd.append('file', new Blob([Buffer.from(body)]), 'f');
      const c = await t.api('POST', FILES, { multipart: fd });
      expect((await t.waitTask(c.body.task)).state).toBe('completed');
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function publish(body: Record<string, unknown>): Promise<any> {
    const r = await t.api('POST', PUBS, { body });
    expect(r.status).toBe(202);
    return t.waitTask(r.body.task);
  }

  const publicationHref = (task: { created_resources: string[] }) => task.created_resources.find((h) => h.startsWith(PUBS))!;

  it('publishes every file at its relative path plus a PULP_MANIFEST', async () => {
    const task = await publish({ repository: repo });
    expect(task.state).toBe('completed');
    const href = publicationHref(task);
    const pub = await t.api('GET', href);
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({ pulp_href: href, repository: repo, repository_version: `${repo}versions/3/`, manifest: 'PULP_MANIFEST' });
    const id = href.split('/')[7];
    const published = await t.platform.db.query<{ relative_path: string }>(
      'SELECT relative_path FROM core_publishedartifact WHERE publication_id = $1 ORDER BY 1',
      [id],
    );
    expect(published.map((r) => r.relative_path)).toEqual(Object.keys(files).sort());
    const meta = await t.platform.db.query<{ relative_path: string; file: string }>(
      'SELECT m.relative_path, a.file FROM core_publishedmetadata m JOIN core_artifact a ON a.pulp_id = m.artifact_id WHERE m.publication_id = $1',
      [id],
    );
    expect(meta.map((m) => m.relative_path)).toEqual(['PULP_MANIFEST']);
    const manifest = readFileSync(path.join(t.mediaRoot, meta[0]!.file), 'utf8');
    expect(manifest).toBe(
      Object.keys(files).sort().map((p) => `${p},${sha(files[p]!)},${Buffer.byteLength(files[p]!)}\n`).join(''),
    );
  });

  it('publishes an older version under another manifest name, or without a manifest', async () => {
    let task = await publish({ repository_version: `${repo}versions/1/`, manifest: 'LIST' });
    expect(task.state).toBe('completed');
    let id = publicationHref(task).split('/')[7];
    const meta = await t.platform.db.query<{ relative_path: string }>('SELECT relative_path FROM core_publishedmetadata WHERE publication_id = $1', [id]);
    expect(meta.map((m) => m.relative_path)).toEqual(['LIST']);
    expect((await t.platform.db.query('SELECT 1 FROM core_publishedartifact WHERE publication_id = $1', [id])).length).toBe(1);

    task = await publish({ repository: repo, manifest: null });
    expect(task.state).toBe('completed');
    const pub = await t.api('GET', publicationHref(task));
    expect(pub.body.manifest).toBeNull();
    id = publicationHref(task).split('/')[7];
    expect((await t.platform.db.query('SELECT 1 FROM core_publishedmetadata WHERE publication_id = $1', [id])).length).toBe(0);
    expect((await t.platform.db.query('SELECT 1 FROM core_publishedartifact WHERE publication_id = $1', [id])).length).toBe(3);
  });

  it('rejects hostile or clashing manifest names', async () => {
    const r = await t.api('POST', PUBS, { body: { repository: repo, manifest: '../../etc/passwd' } });
    expect(r.status).toBe(400);
    expect(r.body.manifest).toBeDefined();
    const task = await publish({ repository: repo, manifest: 'a.txt' });
    expect(task.state).toBe('failed');
    expect(task.error.description).toContain("'a.txt'");
    const incomplete = await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_publication WHERE NOT complete');
    expect(incomplete!.n).toBe(0);
  });
});
