import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import filePlugin from './index';

const A = '/pulp/api/v3/';
const FILES = `${A}content/file/files/`;
const REPOS = `${A}repositories/file/file/`;
const REMOTES = `${A}remotes/file/file/`;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** An upstream file repository: paths → bodies, served over node:http, with its PULP_MANIFEST. */
class Upstream {
  readonly files = new Map<string, Buffer>();
  /** Bodies served instead of the real ones (to corrupt a file after the manifest was written). */
  readonly overrides = new Map<string, Buffer>();
  manifestOverride: string | null = null;
  readonly requests: string[] = [];
  /** Authorization header of each request ('' when none). */
  readonly authorizations: string[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
      this.requests.push(path);
      this.authorizations.push(req.headers.authorization ?? '');
      if (path === '/repo/PULP_MANIFEST') {
        res.end(this.manifestOverride ?? this.manifest());
        return;
      }
      const body = this.overrides.get(path.replace('/repo/', '')) ?? this.files.get(path.replace('/repo/', ''));
      if (!body) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      res.setHeader('Content-Length', body.length);
      res.end(body);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/repo/PULP_MANIFEST`;
  }

  manifest(): string {
    // CRLF and a blank line, as hand-written manifests have.
    return [...this.files].map(([p, b]) => `${p},${sha(b)},${b.length}`).join('\r\n') + '\r\n\r\n';
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('file sync', () => {
  let t: TestPlatform;
  const up = new Upstream();
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [filePlugin] });
    await up.start();
  });
  afterAll(async () => {
    await t?.stop();
    await up.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function sync(repoHref: string, body: Record<string, unknown>): Promise<any> {
    const r = await t.api('POST', `${repoHref}sync/`, { body });
    expect(r.status).toBe(202);
    return t.waitTask(r.body.task);
  }

  async function makeRepo(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await t.api('POST', REPOS, { body: { name, ...extra } });
    expect(r.status).toBe(201);
    return r.body.pulp_href;
  }

  async function makeRemote(name: string, policy = 'immediate'): Promise<string> {
    const r = await t.api('POST', REMOTES, { body: { name, url: up.url, policy } });
    expect(r.status).toBe(201);
    return r.body.pulp_href;
  }

  async function summary(repoHref: string, n: number): Promise<Record<'added' | 'removed' | 'present', Record<string, { count: number }>>> {
    const v = await t.api('GET', `${repoHref}versions/${n}/`);
    expect(v.status).toBe(200);
    return v.body.content_summary;
  }

  async function presentPaths(repoHref: string, n: number): Promise<Record<string, string>> {
    const r = await t.api('GET', `${FILES}?limit=1000&repository_version=${encodeURIComponent(`${repoHref}versions/${n}/`)}`);
    return Object.fromEntries(r.body.results.map((c: { relative_path: string; digest: string }) => [c.relative_path, c.digest]));
  }

  const codes = (task: { progress_reports: Array<{ code: string }> }) => task.progress_reports.map((p) => p.code);

  it('validates the sync body', async () => {
    const repo = await makeRepo('validate');
    let r = await t.api('POST', `${repo}sync/`, { body: {} });
    expect(r.status).toBe(400);
    expect(r.body.remote[0]).toContain('remote is not set on the repository');
    r = await t.api('POST', `${repo}sync/`, { body: { remote: `${REMOTES}0190a3c4-0000-7000-8000-000000000000/` } });
    expect(r.status).toBe(400);
    expect(r.body.remote).toBeDefined();
    r = await t.api('POST', `${repo}sync/`, { body: { remote: await makeRemote('validate-remote'), mirror: 'maybe', optimize: 3, nope: 1 } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body).sort()).toEqual(['mirror', 'nope', 'optimize']);
    r = await t.api('POST', `${A}repositories/file/file/0190a3c4-0000-7000-8000-000000000000/sync/`, { body: {} });
    expect(r.status).toBe(404);
  });

  it('syncs immediately, skips an unchanged sync with optimize, then mirrors upstream changes', async () => {
    up.files.clear();
    up.files.set('a.txt', Buffer.from('alpha'));
    up.files.set('dir/b c.bin', Buffer.from('bravo bravo'));
    up.files.set('dir/sub/c,d.txt', Buffer.from('charlie'));
    const remote = await makeRemote('upstream');
    const repo = await makeRepo('mirror', { remote });

    let task = await sync(repo, {}); // falls back to the repository's remote
    expect(task.state).toBe('completed');
    expect(task.created_resources).toContain(`${repo}versions/1/`);
    expect(codes(task)).toEqual(expect.arrayContaining(['sync.downloading.metadata', 'sync.parsing.metadata']));
    const parsing = task.progress_reports.find((p: { code: string }) => p.code === 'sync.parsing.metadata');
    expect(parsing).toMatchObject({ total: 3, done: 3, state: 'completed' });
    expect((await summary(repo, 1)).added['file.file']!.count).toBe(3);
    expect(await presentPaths(repo, 1)).toEqual({
      'a.txt': sha('alpha'), 'dir/b c.bin': sha('bravo bravo'), 'dir/sub/c,d.txt': sha('charlie'),
    });
    const withArtifacts = await t.platform.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM core_contentartifact ca JOIN core_artifact a ON a.pulp_id = ca.artifact_id
        WHERE ca.relative_path IN ('a.txt', 'dir/b c.bin', 'dir/sub/c,d.txt')`,
    );
    expect(withArtifacts!.n).toBe(3);

    // Nothing changed: optimize (the default) skips without downloading any file.
    up.requests.length = 0;
    task = await sync(repo, { remote });
    expect(task.state).toBe('completed');
    expect(codes(task)).toContain('sync.was_skipped');
    expect(codes(task)).not.toContain('sync.parsing.metadata');
    expect(up.requests).toEqual(['/repo/PULP_MANIFEST']);
    // Without optimize the sync runs, finds nothing new and makes no version.
    task = await sync(repo, { remote, optimize: false });
    expect(task.state).toBe('completed');
    expect(codes(task)).not.toContain('sync.was_skipped');
    expect(task.created_resources.filter((h: string) => h.includes('/versions/'))).toEqual([]);

    // Upstream drops one file and changes another; a mirror sync follows exactly.
    up.files.delete('dir/b c.bin');
    up.files.set('a.txt', Buffer.from('alpha, second edition'));
    task = await sync(repo, { remote, mirror: true });
    expect(task.state).toBe('completed');
    expect(task.created_resources).toContain(`${repo}versions/2/`);
    const s = await summary(repo, 2);
    expect(s.added['file.file']!.count).toBe(1);
    expect(s.removed['file.file']!.count).toBe(2);
    expect(s.present['file.file']!.count).toBe(2);
    expect(await presentPaths(repo, 2)).toEqual({ 'a.txt': sha('alpha, second edition'), 'dir/sub/c,d.txt': sha('charlie') });

    // A mirror sync publishes upstream's own manifest in a pass-through publication.
    const pubs = await t.platform.db.query<{ pass_through: boolean; complete: boolean; manifest: string; path: string; sha256: string }>(
      `SELECT p.pass_through, p.complete, d.manifest, m.relative_path AS path, a.sha256
         FROM core_publication p JOIN core_repositoryversion v ON v.pulp_id = p.repository_version_id
         JOIN file_filepublication d ON d.publication_ptr_id = p.pulp_id
         JOIN core_publishedmetadata m ON m.publication_id = p.pulp_id JOIN core_artifact a ON a.pulp_id = m.artifact_id
        WHERE v.repository_id = $1 AND v.number = 2`,
      [repo.split('/')[7]],
    );
    expect(pubs).toEqual([{ pass_through: true, complete: true, manifest: 'PULP_MANIFEST', path: 'PULP_MANIFEST', sha256: sha(up.manifest()) }]);
    expect(task.created_resources).toEqual(expect.arrayContaining([expect.stringMatching(/^\/pulp\/api\/v3\/publications\/file\/file\/[0-9a-f-]+\/$/)]));
  });

  it('syncs with basic-auth credentials, which are stored encrypted', async () => {
    up.files.clear();
    up.files.set('auth/a.txt', Buffer.from('needs credentials'));
    const repo = await makeRepo('with-auth');
    const r = await t.api('POST', REMOTES, { body: { name: 'with-auth', url: up.url, username: 'alice', password: 'pä55 w:rd' } });
    expect(r.status).toBe(201);
    const stored = await t.platform.db.one<{ username: string; password: string }>(
      'SELECT username, password FROM core_remote WHERE name = $1', ['with-auth'],
    );
    expect(`${stored!.username} ${stored!.password}`).not.toMatch(/alice|pä55/);
    up.authorizations.length = 0;
    const task = await sync(repo, { remote: r.body.pulp_href });
    expect(task.state).toBe('completed');
    const basic = `Basic ${Buffer.from('alice:pä55 w:rd').toString('base64')}`;
    expect(up.authorizations.length).toBeGreaterThanOrEqual(2); // manifest and file
    expect(new Set(up.authorizations)).toEqual(new Set([basic]));
  });

  it('on_demand stores remote artifacts and downloads nothing', async () => {
    up.files.clear();
    up.files.set('lazy/one.iso', Buffer.from('one'.repeat(100)));
    up.files.set('lazy/two.iso', Buffer.from('two'.repeat(100)));
    const before = await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact');
    up.requests.length = 0;
    const repo = await makeRepo('lazy');
    const task = await sync(repo, { remote: await makeRemote('lazy-remote', 'on_demand') });
    expect(task.state).toBe('completed');
    expect(up.requests).toEqual(['/repo/PULP_MANIFEST']);
    expect(await presentPaths(repo, 1)).toEqual({ 'lazy/one.iso': sha('one'.repeat(100)), 'lazy/two.iso': sha('two'.repeat(100)) });
    const after = await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact');
    expect(after!.n).toBe(before!.n);
    const ras = await t.platform.db.query<{ url: string; size: string; sha256: string; artifact_id: string | null }>(
      `SELECT ra.url, ra.size::text AS size, ra.sha256, ca.artifact_id FROM core_remoteartifact ra
         JOIN core_contentartifact ca ON ca.pulp_id = ra.content_artifact_id WHERE ca.relative_path LIKE 'lazy/%' ORDER BY ra.url`,
    );
    expect(ras).toEqual([
      { url: up.url.replace('PULP_MANIFEST', 'lazy/one.iso'), size: '300', sha256: sha('one'.repeat(100)), artifact_id: null },
      { url: up.url.replace('PULP_MANIFEST', 'lazy/two.iso'), size: '300', sha256: sha('two'.repeat(100)), artifact_id: null },
    ]);
    const listed = await t.api('GET', `${FILES}?relative_path=lazy/one.iso`);
    expect(listed.body.results[0].artifact).toBeNull();
  });

  it('fails on a corrupted upstream file and keeps no new version', async () => {
    up.files.clear();
    up.files.set('good.txt', Buffer.from('good'));
    up.files.set('bad.txt', Buffer.from('the real bytes'));
    up.overrides.set('bad.txt', Buffer.from('tampered bytes'));
    try {
      const repo = await makeRepo('corrupt');
      const task = await sync(repo, { remote: await makeRemote('corrupt-remote') });
      expect(task.state).toBe('failed');
      expect(task.error.description).toMatch(/bad\.txt.*sha256/);
      const r = await t.api('GET', repo);
      expect(r.body.latest_version_href).toBe(`${repo}versions/0/`);
      const leftovers = await t.platform.db.one<{ n: number }>(
        'SELECT count(*)::int AS n FROM core_repositoryversion WHERE repository_id = $1 AND NOT complete',
        [repo.split('/')[7]],
      );
      expect(leftovers!.n).toBe(0);
    } finally {
      up.overrides.clear();
    }
  });

  it('fails on a malformed manifest naming the line', async () => {
    up.manifestOverride = `ok.txt,${sha('x')},1\n\n../../etc/passwd,${sha('y')},1\n`;
    try {
      const repo = await makeRepo('malformed');
      const task = await sync(repo, { remote: await makeRemote('malformed-remote') });
      expect(task.state).toBe('failed');
      expect(task.error.description).toContain('line 3');
      expect((await t.api('GET', repo)).body.latest_version_href).toBe(`${repo}versions/0/`);
    } finally {
      up.manifestOverride = null;
    }
  });

  it('autopublishes new versions with the repository manifest name', async () => {
    up.files.clear();
    up.files.set('pub/x.txt', Buffer.from('x marks'));
    up.files.set('pub/y.txt', Buffer.from('why not'));
    const repo = await makeRepo('autopub', { autopublish: true, manifest: 'FILES.csv' });
    const task = await sync(repo, { remote: await makeRemote('autopub-remote') });
    expect(task.state).toBe('completed');
    const pubHref = task.created_resources.find((h: string) => h.startsWith(`${A}publications/file/file/`));
    expect(pubHref).toBeDefined();
    const pubId = pubHref.split('/')[7];
    const published = await t.platform.db.query<{ relative_path: string }>(
      'SELECT relative_path FROM core_publishedartifact WHERE publication_id = $1 ORDER BY 1',
      [pubId],
    );
    expect(published.map((r) => r.relative_path)).toEqual(['pub/x.txt', 'pub/y.txt']);
    const meta = await t.platform.db.one<{ relative_path: string; file: string }>(
      'SELECT m.relative_path, a.file FROM core_publishedmetadata m JOIN core_artifact a ON a.pulp_id = m.artifact_id WHERE m.publication_id = $1',
      [pubId],
    );
    expect(meta!.relative_path).toBe('FILES.csv');
    expect(readFileSync(path.join(t.mediaRoot, meta!.file), 'utf8')).toBe(
      `pub/x.txt,${sha('x marks')},7\npub/y.txt,${sha('why not')},7\n`,
    );
  });
});
