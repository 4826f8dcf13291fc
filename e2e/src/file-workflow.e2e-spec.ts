// The file workflow end to end with real processes and real clients: an upstream PULP_MANIFEST
// repository of 1,000 files served by nginx → remote + repository over REST → sync → publish →
// distribution → every file fetched with curl through the content app and its sha256 compared;
// Range and Cache-Control; the same bytes through nginx with X-Accel-Redirect; a mirror re-sync.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { curlFetchAll, curlGet } from './curl-client';
import {
  createRemote, createRepository, distribute, publish, sync, updateDistribution, versionFiles, versionSummary, waitServed,
} from './file-workflow';
import { encodePath, fileSha256, manifestText, removeFile, rewriteFile, sha256, writeManifest, writeTree, type TreeEntry } from './file-tree';
import { staticNginx, xAccelNginx, type NginxInstance } from './nginx-fixture';
import { freePort, startPith, type PithInstance } from './pith-process';
import { startRole } from './pith-role';
import { PulpApi } from './pulp-api';

const IMMUTABLE = 'public, max-age=31536000, immutable';

describe('file workflow with nginx upstream, curl and X-Accel-Redirect (e2e)', () => {
  let work: string;
  let upstream: string;
  let origin: NginxInstance;
  let pith: PithInstance;
  let api: PulpApi;
  let entries: TreeEntry[];
  let repo: string;
  let distribution: string;
  let served: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pith-e2e-file-'));
    upstream = path.join(work, 'upstream');
    // Random sizes from 3 KiB to 100 KiB, nested directories, some names needing percent-encoding.
    entries = writeTree(path.join(upstream, 'big'), { count: 1000, minSize: 3 * 1024, maxSize: 100 * 1024, oddNamesEvery: 97 });
    writeManifest(path.join(upstream, 'big'), entries);
    [origin, pith] = await Promise.all([staticNginx(upstream), startPith()]);
    api = new PulpApi(pith.apiUrl, 'e2e-password');
  });

  afterAll(async () => {
    await pith?.stop('SIGTERM');
    await pith?.dropDatabase();
    await origin?.stop();
    if (pith) rmSync(pith.env.PITH_MEDIA_ROOT!, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Fetches every entry with curl (10 parallel transfers) and compares each file's sha256. */
  async function fetchAndCompare(baseUrl: string, want: TreeEntry[], label: string): Promise<void> {
    const out = path.join(work, `fetched-${label}`);
    const r = await curlFetchAll(baseUrl, want, out, 10);
    expect(r.failures).toEqual([]);
    const wrong = want.filter((e) => fileSha256(path.join(out, e.relativePath)) !== e.sha256).map((e) => e.relativePath);
    expect(wrong).toEqual([]);
    rmSync(out, { recursive: true, force: true });
  }

  it('syncs 1,000 files, publishes, distributes, and curl gets every byte back', async () => {
    const remote = await createRemote(api, 'upstream-big', `${origin.url}/big/PULP_MANIFEST`);
    repo = await createRepository(api, 'big', { remote });
    const task = await sync(api, repo, {});
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    expect(task.created_resources).toContain(`${repo}versions/1/`);
    const summary = await versionSummary(api, repo, 1);
    expect(summary.added['file.file']!.count).toBe(1000);
    expect(summary.present['file.file']!.count).toBe(1000);
    const files = await versionFiles(api, `${repo}versions/1/`);
    expect(files).toEqual(new Map(entries.map((e) => [e.relativePath, e.sha256])));

    const publication = await publish(api, repo);
    distribution = await distribute(api, 'big', 'e2e/big', { publication });
    const dist = await api.expect(200, 'GET', distribution);
    expect(dist.base_path).toBe('e2e/big');
    served = `${pith.contentUrl}/pulp/content/e2e/big/`;
    await waitServed(`${served}PULP_MANIFEST`);

    await fetchAndCompare(served, entries, 'direct');
    // The published PULP_MANIFEST lists exactly the upstream files (sorted by path, like pulp_file).
    const manifest = await curlGet(`${served}PULP_MANIFEST`);
    expect(manifest.status).toBe(200);
    expect(manifest.body.toString('utf8').split('\n').filter(Boolean).sort()).toEqual(manifestText(entries).split('\n').filter(Boolean).sort());
  });

  it('answers Range requests, with immutable caching for content and no-cache for PULP_MANIFEST', async () => {
    const e = entries.find((x) => x.size > 10_000)!;
    const url = `${served}${encodePath(e.relativePath)}`;
    const bytes = readFileSync(path.join(upstream, 'big', e.relativePath));

    const full = await curlGet(url);
    expect(full.status).toBe(200);
    expect(sha256(full.body)).toBe(e.sha256);
    expect(full.headers['cache-control']).toBe(IMMUTABLE);
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.headers['content-length']).toBe(String(e.size));
    expect(full.headers.etag).toBe(`"${e.sha256}"`);

    const part = await curlGet(url, ['-r', '100-199']);
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${e.size}`);
    expect(part.body.equals(bytes.subarray(100, 200))).toBe(true);
    const suffix = await curlGet(url, ['-r', '-50']);
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(bytes.subarray(bytes.length - 50))).toBe(true);
    const open = await curlGet(url, ['-r', `${e.size - 10}-`]);
    expect(open.status).toBe(206);
    expect(open.body.equals(bytes.subarray(e.size - 10))).toBe(true);
    const beyond = await curlGet(url, ['-r', `${e.size}-`]);
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${e.size}`);
    // A stale If-Range gets the whole file, a conditional GET a 304.
    const stale = await curlGet(url, ['-r', '0-9', '-H', 'If-Range: "0000"']);
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(e.size);
    const cached = await curlGet(url, ['-H', `If-None-Match: "${e.sha256}"`]);
    expect(cached.status).toBe(304);

    const head = await curlGet(url, ['-I']);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(e.size));
    expect(head.body.length).toBe(0);

    const manifest = await curlGet(`${served}PULP_MANIFEST`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['cache-control']).toBe('no-cache');
    const missing = await curlGet(`${served}no/such/file`);
    expect(missing.status).toBe(404);
    const traversal = await curlGet(`${served}d0/..%2F..%2F..%2Fetc/passwd`, ['--path-as-is']);
    expect(traversal.status).toBe(404);
  });

  it('serves the same bytes through nginx with X-Accel-Redirect in front of `pith content`', async () => {
    const port = await freePort();
    const content = await startRole('content', {
      ...pith.env, PITH_CONTENT_PORT: String(port), PITH_CONTENT_X_ACCEL_REDIRECT: '/pith-media',
    }, `http://127.0.0.1:${port}/pulp/content/`);
    const front = await xAccelNginx(`http://127.0.0.1:${port}`, pith.env.PITH_MEDIA_ROOT!, '/pith-media');
    try {
      const e = entries[1]!;
      const direct = await curlGet(`http://127.0.0.1:${port}/pulp/content/e2e/big/${encodePath(e.relativePath)}`);
      expect(direct.status).toBe(200);
      expect(direct.headers['x-accel-redirect']).toBe(`/pith-media/artifact/${e.sha256.slice(0, 2)}/${e.sha256.slice(2)}`);
      expect(direct.body.length).toBe(0);
      // An explicit empty body lets nginx keep its upstream connections alive (chunked would not).
      expect(direct.headers['content-length']).toBe('0');

      const viaNginx = `${front.url}/pulp/content/e2e/big/`;
      await fetchAndCompare(viaNginx, entries, 'x-accel');
      const one = await curlGet(`${viaNginx}${encodePath(e.relativePath)}`, ['-r', '10-19']);
      expect(one.status).toBe(206);
      expect(one.headers['x-accel-redirect']).toBeUndefined();
      expect(one.body.equals(readFileSync(path.join(upstream, 'big', e.relativePath)).subarray(10, 20))).toBe(true);
      const full = await curlGet(`${viaNginx}${encodePath(e.relativePath)}`);
      expect(full.headers['cache-control']).toBe(IMMUTABLE);
      const manifest = await curlGet(`${viaNginx}PULP_MANIFEST`);
      expect(manifest.status).toBe(200);
      expect(manifest.headers['cache-control']).toBe('no-cache');
      // The internal location cannot be reached from outside.
      const internal = await curlGet(`${front.url}/pith-media/artifact/${e.sha256.slice(0, 2)}/${e.sha256.slice(2)}`);
      expect(internal.status).toBe(404);
      expect(front.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
    } finally {
      await front.stop();
      await content.stop();
    }
  });

  it('a mirror re-sync after upstream removes and changes files gives the right version and serves it', async () => {
    const root = path.join(upstream, 'big');
    const removed = entries.slice(0, 40);
    const changed = entries.slice(40, 65).map((e) => rewriteFile(root, e));
    const kept = entries.slice(65);
    const added = writeTree(root, { count: 15, minSize: 3 * 1024, maxSize: 20 * 1024, prefix: 'added' });
    for (const e of removed) removeFile(root, e);
    const now = [...changed, ...kept, ...added];
    writeManifest(root, now);

    const task = await sync(api, repo, { mirror: true });
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    expect(task.created_resources).toContain(`${repo}versions/2/`);
    const s = await versionSummary(api, repo, 2);
    expect(s.added['file.file']!.count).toBe(25 + 15);
    expect(s.removed['file.file']!.count).toBe(40 + 25);
    expect(s.present['file.file']!.count).toBe(1000 - 40 + 15);
    expect(await versionFiles(api, `${repo}versions/2/`)).toEqual(new Map(now.map((e) => [e.relativePath, e.sha256])));

    // Following the repository, the distribution serves the mirror's pass-through publication.
    await updateDistribution(api, distribution, { repository: repo, publication: null });
    const gone = `${served}${encodePath(removed[0]!.relativePath)}`;
    await waitServed(gone, 404);
    const manifest = await curlGet(`${served}PULP_MANIFEST`);
    expect(manifest.body.toString('utf8')).toBe(manifestText(now));
    await fetchAndCompare(served, [...changed, ...added, ...kept.slice(0, 50)], 'mirror');
  });
});
