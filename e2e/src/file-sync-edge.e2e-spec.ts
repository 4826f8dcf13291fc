// Sync policies and failure modes with real processes: on_demand stores nothing until the first
// fetch through the content app; a corrupted upstream file fails the sync and makes no version;
// uploads, modify and a sync racing on one repository lose no content.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { curl, curlGet } from './curl-client';
import {
  ARTIFACTS, FILES, createRemote, createRepository, distribute, latestVersion, publish, sync, versionFiles, waitServed,
} from './file-workflow';
import { encodePath, sha256, writeManifest, writeTree, type TreeEntry } from './file-tree';
import { staticNginx, type NginxInstance } from './nginx-fixture';
import { startPith, type PithInstance } from './pith-process';
import { PulpApi } from './pulp-api';

/** Files in the artifact storage (`<media>/artifact/<2>/<62>`). */
function storedArtifacts(media: string): Set<string> {
  const root = path.join(media, 'artifact');
  const out = new Set<string>();
  if (!existsSync(root)) return out;
  for (const d of readdirSync(root)) for (const f of readdirSync(path.join(root, d))) out.add(d + f);
  return out;
}

describe('file sync policies, failures and concurrency (e2e)', () => {
  let work: string;
  let upstream: string;
  let origin: NginxInstance;
  let pith: PithInstance;
  let api: PulpApi;
  let media: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pith-e2e-edge-'));
    upstream = path.join(work, 'upstream');
    [origin, pith] = await Promise.all([staticNginx(upstream, { accessLog: true }), startPith()]);
    api = new PulpApi(pith.apiUrl, 'e2e-password');
    media = pith.env.PITH_MEDIA_ROOT!;
  });

  afterAll(async () => {
    await pith?.stop('SIGTERM');
    await pith?.dropDatabase();
    await origin?.stop();
    if (media) rmSync(media, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const artifactCount = async (): Promise<number> => (await api.expect(200, 'GET', `${ARTIFACTS}?limit=1`)).count;

  it('on_demand stores no artifact until the first fetch, then keeps it', async () => {
    const root = path.join(upstream, 'lazy');
    const entries = writeTree(root, { count: 30, minSize: 2048, maxSize: 64 * 1024, prefix: 'iso' });
    writeManifest(root, entries);
    const remote = await createRemote(api, 'lazy', `${origin.url}/lazy/PULP_MANIFEST`, 'on_demand');
    const repo = await createRepository(api, 'lazy', { remote });

    const artifactsBefore = await artifactCount();
    const storedBefore = storedArtifacts(media);
    const logged = origin.accessLog().length;
    const task = await sync(api, repo, {});
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    // Only the manifest was downloaded; nothing was stored.
    expect(origin.accessLog().slice(logged)).toEqual(['/lazy/PULP_MANIFEST']);
    expect(await artifactCount()).toBe(artifactsBefore);
    expect(storedArtifacts(media)).toEqual(storedBefore);
    const units = await api.listAll(`${FILES}?repository_version=${encodeURIComponent(`${repo}versions/1/`)}`);
    expect(units).toHaveLength(30);
    expect(units.every((u: { artifact: string | null }) => u.artifact === null)).toBe(true);

    await distribute(api, 'lazy', 'e2e/lazy', { publication: await publish(api, repo) });
    const base = `${pith.contentUrl}/pulp/content/e2e/lazy/`;
    await waitServed(`${base}PULP_MANIFEST`);
    const withManifest = await artifactCount(); // the publication's PULP_MANIFEST is an artifact
    const e = entries[3]!;
    const url = `${base}${encodePath(e.relativePath)}`;
    // HEAD answers from the remote artifact's metadata and downloads nothing.
    const head = await curlGet(url, ['-I']);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(e.size));
    expect(await artifactCount()).toBe(withManifest);

    const first = await curlGet(url);
    expect(first.status).toBe(200);
    expect(sha256(first.body)).toBe(e.sha256);
    // Saved after the body was verified: the artifact appears (shortly after the response ends).
    const deadline = Date.now() + 10_000;
    let found = 0;
    while (Date.now() < deadline) {
      found = (await api.expect(200, 'GET', `${ARTIFACTS}?sha256=${e.sha256}`)).count;
      if (found === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toBe(1);
    expect(await artifactCount()).toBe(withManifest + 1);
    expect(storedArtifacts(media).has(e.sha256)).toBe(true);
    expect(readFileSync(path.join(media, 'artifact', e.sha256.slice(0, 2), e.sha256.slice(2))).equals(first.body)).toBe(true);
    const unit = (await api.expect(200, 'GET', `${FILES}?relative_path=${encodeURIComponent(e.relativePath)}`)).results[0];
    expect(unit.artifact).toMatch(/^\/pulp\/api\/v3\/artifacts\/[0-9a-f-]+\/$/);

    // Upstream loses the file: the second fetch comes from storage.
    rmSync(path.join(root, e.relativePath));
    const requests = origin.accessLog().length;
    const second = await curlGet(url);
    expect(second.status).toBe(200);
    expect(sha256(second.body)).toBe(e.sha256);
    expect(origin.accessLog().length).toBe(requests);
    // Others are still remote-only.
    expect(storedArtifacts(media).has(entries[4]!.sha256)).toBe(false);
  });

  it('a corrupted upstream file fails the sync with a clear error and no new version', async () => {
    const root = path.join(upstream, 'corrupt');
    const entries = writeTree(root, { count: 20, minSize: 1024, maxSize: 8192, prefix: 'c' });
    writeManifest(root, entries);
    const bad = entries[7]!;
    const original = readFileSync(path.join(root, bad.relativePath));
    const tampered = Buffer.from(original);
    tampered[0] = tampered[0]! ^ 0xff;
    writeFileSync(path.join(root, bad.relativePath), tampered);

    const repo = await createRepository(api, 'corrupt', { remote: await createRemote(api, 'corrupt', `${origin.url}/corrupt/PULP_MANIFEST`) });
    const task = await sync(api, repo, {});
    expect(task.state).toBe('failed');
    expect(task.error.description).toContain(bad.relativePath);
    expect(task.error.description).toMatch(/sha256/i);
    expect(task.error.description).toMatch(/mismatch/i);
    const r = await api.expect(200, 'GET', repo);
    expect(r.latest_version_href).toBe(`${repo}versions/0/`);
    expect((await api.expect(200, 'GET', `${repo}versions/`)).count).toBe(1);
    expect((await api.expect(200, 'GET', `${ARTIFACTS}?sha256=${sha256(tampered)}`)).count).toBe(0);

    // Upstream fixed: the same sync now succeeds.
    writeFileSync(path.join(root, bad.relativePath), original);
    const again = await sync(api, repo, {});
    expect({ state: again.state, error: again.error }).toEqual({ state: 'completed', error: null });
    expect((await versionFiles(api, `${repo}versions/1/`)).size).toBe(20);
  });

  it('uploads, modify and a sync racing on one repository lose no content', async () => {
    const root = path.join(upstream, 'race');
    const synced = writeTree(root, { count: 200, minSize: 512, maxSize: 4096, prefix: 'synced' });
    writeManifest(root, synced);
    const repo = await createRepository(api, 'race');
    const remote = await createRemote(api, 'race', `${origin.url}/race/PULP_MANIFEST`);

    // Units for modify, created outside the repository first.
    const loose: TreeEntry[] = writeTree(path.join(work, 'loose'), { count: 12, minSize: 100, maxSize: 900, prefix: 'modified' });
    const looseHrefs: string[] = [];
    for (const e of loose) {
      const t = await api.waitTask((await curlUpload(e.relativePath, path.join(work, 'loose', e.relativePath))).task);
      expect(t.state).toBe('completed');
      looseHrefs.push((t.created_resources as string[]).find((h) => h.startsWith(FILES))!);
    }
    const uploads = writeTree(path.join(work, 'uploads'), { count: 16, minSize: 100, maxSize: 900, prefix: 'uploaded' });

    // All at once: one sync, 16 curl uploads into the repository, 4 modify calls of 3 units each.
    const dispatched = await Promise.all([
      api.expect(202, 'POST', `${repo}sync/`, { remote }),
      ...uploads.map((e) => curlUpload(e.relativePath, path.join(work, 'uploads', e.relativePath), repo)),
      ...[0, 1, 2, 3].map((i) => api.expect(202, 'POST', `${repo}modify/`, { add_content_units: looseHrefs.slice(i * 3, i * 3 + 3) })),
    ]);
    const tasks = await Promise.all(dispatched.map((d: { task: string }) => api.waitTask(d.task, 180_000)));
    expect(tasks.filter((t) => t.state !== 'completed').map((t) => ({ name: t.name, error: t.error }))).toEqual([]);
    // They really overlapped: most were queued while the sync still ran.
    const syncDone = Date.parse(tasks[0].finished_at);
    expect(tasks.slice(1).filter((t) => Date.parse(t.pulp_created) < syncDone).length).toBeGreaterThan(10);

    // Each task made one version on top of the previous one: 1 + 16 + 4 versions, nothing lost.
    const latest = await latestVersion(api, repo);
    expect(latest).toBe(`${repo}versions/21/`);
    const want = new Map([...synced, ...loose, ...uploads].map((e) => [e.relativePath, e.sha256]));
    expect(await versionFiles(api, latest)).toEqual(want);
    const versions = await api.listAll(`${repo}versions/`);
    const added = versions.reduce((n: number, v: { content_summary: { added: Record<string, { count: number }> } }) => n + (v.content_summary.added['file.file']?.count ?? 0), 0);
    expect(added).toBe(want.size);
  });

  /** `curl -F` upload of one file as a file unit (optionally into a repository): the 202 body. */
  async function curlUpload(relativePath: string, file: string, repository?: string): Promise<{ task: string }> {
    const r = await curl([
      '-sS', '--fail-with-body', '-u', 'admin:e2e-password',
      '-F', `relative_path=${relativePath}`, ...(repository ? ['-F', `repository=${repository}`] : []),
      '-F', `file=@${file}`, `${pith.apiUrl}${FILES}`,
    ]);
    if (r.code !== 0) throw new Error(`upload ${relativePath}: curl ${r.code} ${r.stderr} ${r.stdout.toString()}`);
    return JSON.parse(r.stdout.toString('utf8'));
  }
});
