// Repository export/import between two real Pith installations on one machine (two `pith start`
// process trees, two databases, two media roots): three file repositories synced from nginx that
// share files are exported from A in 1 MB chunks, inspected with GNU tar, imported into B under
// other names; then an incremental export after adds and removes, dry runs on both sides, and a
// hand-made hostile tar that must fail without writing outside B's media root.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileSha256, writeManifest, writeTree, type TreeEntry } from './file-tree';
import { ARTIFACTS, createRemote, createRepository, latestVersion, sync, versionFiles, versionSummary } from './file-workflow';
import { artifactPath, createExporter, createImporter, groupFailures, runExport, runImport } from './import-export-workflow';
import { staticNginx, type NginxInstance } from './nginx-fixture';
import { startPith, type PithInstance } from './pith-process';
import { PulpApi } from './pulp-api';

const MiB = 1024 * 1024;
const NAMES = ['one', 'two', 'three'] as const;
type Name = (typeof NAMES)[number];
const downName = (n: Name) => `${n}-b`;

/** GNU tar; throws with its stderr on failure, returns stdout. */
function tar(args: string[], cwd?: string): string {
  const r = spawnSync('tar', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Every path (files and folders) under `dir`, relative. */
function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return [path.relative(base, full), ...(d.isDirectory() ? walk(full, base) : [])];
  });
}

describe('repository export/import between two Pith installations (e2e)', () => {
  let work: string;
  let pool: string;
  let exportsDir: string;
  let origin: NginxInstance;
  let a: PithInstance;
  let b: PithInstance;
  let apiA: PulpApi;
  let apiB: PulpApi;
  const up: Record<string, string> = {};
  const down: Record<string, string> = {};
  const members: Record<Name, TreeEntry[]> = { one: [], two: [], three: [] };
  let exporter: string;
  let importer: string;
  let chunkedToc: string;

  /** Unique artifacts of the repositories' current manifests. */
  const uniqueDigests = (sets: TreeEntry[][]) => [...new Set(sets.flat().map((e) => e.sha256))].sort();

  function writeManifests(): void {
    for (const n of NAMES) writeManifest(pool, members[n], `${n}.manifest`);
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pith-e2e-ie-'));
    pool = path.join(work, 'upstream', 'pool');
    exportsDir = path.join(work, 'exports');
    for (const d of [exportsDir, path.join(work, 'a', 'media'), path.join(work, 'b', 'media')]) mkdirSync(d, { recursive: true });
    // 60 small files (some odd names) and 3 × 1 MiB; the three manifests overlap, so files are shared.
    const small = writeTree(pool, { count: 60, minSize: 1024, maxSize: 40 * 1024, oddNamesEvery: 17 });
    const bulk = writeTree(pool, { count: 3, minSize: MiB, maxSize: MiB, prefix: 'bulk' });
    members.one = [...small.slice(0, 40), bulk[0]!, bulk[1]!];
    members.two = [...small.slice(20, 60), bulk[2]!];
    members.three = [...small.slice(0, 10), ...small.slice(50, 60), bulk[0]!];
    writeManifests();
    [origin, a, b] = await Promise.all([
      staticNginx(path.dirname(pool)),
      startPith({ PITH_MEDIA_ROOT: path.join(work, 'a', 'media'), PITH_ALLOWED_EXPORT_PATHS: exportsDir }),
      startPith({ PITH_MEDIA_ROOT: path.join(work, 'b', 'media'), PITH_ALLOWED_IMPORT_PATHS: exportsDir }),
    ]);
    apiA = new PulpApi(a.apiUrl, 'e2e-password');
    apiB = new PulpApi(b.apiUrl, 'e2e-password');
    for (const n of NAMES) {
      const remote = await createRemote(apiA, n, `${origin.url}/pool/${n}.manifest`);
      up[n] = await createRepository(apiA, n, { remote });
      const task = await sync(apiA, up[n]!, {});
      expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
      down[n] = await createRepository(apiB, downName(n));
    }
    exporter = await createExporter(apiA, 'to-b', path.join(exportsDir, 'run'), NAMES.map((n) => up[n]!));
    importer = await createImporter(apiB, 'from-a', Object.fromEntries(NAMES.map((n) => [n, downName(n)])));
  }, 60_000);

  afterAll(async () => {
    for (const p of [a, b]) {
      await p?.stop('SIGTERM');
      await p?.dropDatabase();
    }
    await origin?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a dry-run export reports the shared artifacts once and writes no file', async () => {
    const task = await runExport(apiA, exporter, { dry_run: true, chunk_size: '1MB' });
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    const digests = uniqueDigests(NAMES.map((n) => members[n]));
    const sizes = new Map(NAMES.flatMap((n) => members[n]).map((e) => [e.sha256, e.size]));
    expect(task.result).toMatchObject({ dry_run: true, artifact_count: digests.length, artifact_bytes: digests.reduce((s, d) => s + sizes.get(d)!, 0) });
    expect(walk(exportsDir)).toEqual([]);
    expect((await apiA.expect(200, 'GET', exporter)).last_export).toBeNull();
  });

  it('exports in ≥ 3 chunks of 1 MB; GNU tar lists pith-export.json first and every artifact once', async () => {
    const task = await runExport(apiA, exporter, { chunk_size: '1MB' });
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    chunkedToc = task.result.toc;
    const chunks = (task.result.files as Array<{ name: string; size: number; sha256: string }>).map((f) => ({ ...f, file: path.resolve(path.dirname(chunkedToc), f.name) }));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) {
      expect(statSync(c.file).size).toBe(c.size);
      expect(c.size).toBeLessThanOrEqual(MiB);
      expect(fileSha256(c.file)).toBe(c.sha256);
    }
    expect(task.created_resources[0]).toMatch(new RegExp(`^${exporter}exports/[0-9a-f-]{36}/$`));
    const whole = path.join(work, 'whole.tar');
    writeFileSync(whole, Buffer.concat(chunks.map((c) => readFileSync(c.file))));
    const names = tar(['-tf', whole]).trim().split('\n');
    rmSync(whole);
    expect(names[0]).toBe('pith-export.json');
    const artifacts = names.filter((n) => n.startsWith('artifact/'));
    expect(artifacts.length).toBe(new Set(artifacts).size);
    expect(artifacts.sort()).toEqual(uniqueDigests(NAMES.map((n) => members[n])).map(artifactPath).sort());
  });

  it('a dry-run import reports and creates no version and no artifact', async () => {
    const { tasks, report } = await runImport(apiB, importer, { toc: chunkedToc, dry_run: true });
    expect(groupFailures(tasks)).toEqual([]);
    expect(report.problems).toEqual([]);
    for (const n of NAMES) {
      expect(report.repositories[downName(n)]).toMatchObject({ added: members[n].length, removed: 0 });
      expect(await latestVersion(apiB, down[n]!)).toBe(`${down[n]}versions/0/`);
    }
    expect((await apiB.expect(200, 'GET', `${ARTIFACTS}?limit=1`)).count).toBe(0);
  });

  it('imports the chunked export under other names: same listings, same artifact sha256s', async () => {
    const { tasks } = await runImport(apiB, importer, { toc: chunkedToc });
    expect(groupFailures(tasks)).toEqual([]);
    expect(tasks.map((t) => t.name).sort()).toEqual(['core.import', ...NAMES.map(() => 'core.import-repository')].sort());
    for (const n of NAMES) {
      const got = await versionFiles(apiB, await latestVersion(apiB, down[n]!));
      expect(got).toEqual(await versionFiles(apiA, await latestVersion(apiA, up[n]!)));
      expect(got).toEqual(new Map(members[n].map((e) => [e.relativePath, e.sha256])));
    }
    const digests = async (api: PulpApi) => (await api.listAll(ARTIFACTS)).map((x: { sha256: string }) => x.sha256).sort();
    const downDigests = await digests(apiB);
    expect(downDigests).toEqual(await digests(apiA));
    // The bytes in B's storage are the upstream bytes.
    for (const d of downDigests) expect(fileSha256(path.join(b.env.PITH_MEDIA_ROOT!, artifactPath(d)))).toBe(d);
  });

  it('an incremental export after adds and removes imports as the right version diff', async () => {
    const added = writeTree(pool, { count: 3, minSize: 2000, maxSize: 9000, prefix: 'new' });
    // `one` loses three files that `three` keeps: the shared units must stay in B.
    members.one = [...members.one.slice(3), added[0]!, added[1]!]; // +2 −3
    members.two = [...members.two.slice(1), added[2]!]; // +1 −1
    writeManifests();
    const expected: Record<Name, { added: number; removed: number }> = { one: { added: 2, removed: 3 }, two: { added: 1, removed: 1 }, three: { added: 0, removed: 0 } };
    const downBefore: Record<string, string> = {};
    for (const n of NAMES) {
      downBefore[n] = await latestVersion(apiB, down[n]!);
      const task = await sync(apiA, up[n]!, { mirror: true });
      expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    }
    const task = await runExport(apiA, exporter, { full: false });
    expect({ state: task.state, error: task.error }).toEqual({ state: 'completed', error: null });
    expect(task.result).toMatchObject({ artifact_count: 3, artifact_bytes: added.reduce((s, e) => s + e.size, 0) });
    expect(task.result.files).toHaveLength(1);
    const incrementalTar = path.resolve(path.dirname(task.result.toc), task.result.files[0].name);
    expect(tar(['-tf', incrementalTar]).trim().split('\n').filter((n) => n.startsWith('artifact/')).sort()).toEqual(added.map((e) => artifactPath(e.sha256)).sort());

    const { tasks } = await runImport(apiB, importer, { path: incrementalTar });
    expect(groupFailures(tasks)).toEqual([]);
    for (const n of NAMES) {
      const latest = await latestVersion(apiB, down[n]!);
      expect(await versionFiles(apiB, latest)).toEqual(new Map(members[n].map((e) => [e.relativePath, e.sha256])));
      if (n === 'three') {
        expect(latest).toBe(downBefore[n]);
        continue;
      }
      const number = Number(/versions\/(\d+)\/$/.exec(latest)![1]);
      expect(number).toBe(Number(/versions\/(\d+)\/$/.exec(downBefore[n]!)![1]) + 1);
      const s = await versionSummary(apiB, down[n]!, number);
      expect({ added: s.added['file.file']?.count ?? 0, removed: s.removed['file.file']?.count ?? 0 }).toEqual(expected[n]);
    }
  });

  it('refuses a hand-made tar with a ../ member and writes nothing outside B\'s media root', async () => {
    const src = path.join(work, 'evil-src');
    mkdirSync(src);
    // The genuine manifest of a full export of what B already holds, so the archive can only fail
    // on the member name (an incremental's manifest would fail on its base, already imported).
    const full = await runExport(apiA, exporter, {});
    expect(full.state).toBe('completed');
    tar(['-xf', path.resolve(path.dirname(full.result.toc), full.result.files[0].name), '-C', src, 'pith-export.json']);
    const mark = `escape-${randomBytes(4).toString('hex')}`;
    writeFileSync(path.join(src, mark), 'outside\n');
    const evil = path.join(exportsDir, 'evil', 'evil.tar');
    mkdirSync(path.dirname(evil));
    // -P keeps the `../` prefix GNU tar would otherwise strip while creating.
    tar(['-cPf', evil, '--transform', `s,^${mark},../../../../${mark},`, 'pith-export.json', mark], src);
    expect(tar(['-tPf', evil]).trim().split('\n')).toEqual(['pith-export.json', `../../../../${mark}`]);
    rmSync(path.join(src, mark));
    const versionsBefore = await Promise.all(NAMES.map((n) => latestVersion(apiB, down[n]!)));

    const { parent } = await runImport(apiB, importer, { path: evil });
    expect(parent.state).toBe('failed');
    // The error names the offending member ("… has a '..' path segment").
    expect(parent.error.description).toContain(`../../../../${mark}`);
    expect(await Promise.all(NAMES.map((n) => latestVersion(apiB, down[n]!)))).toEqual(versionsBefore);
    // Nothing named like the member anywhere in this test's folders, nor above B's media root.
    const media = b.env.PITH_MEDIA_ROOT!;
    expect(walk(work).filter((p) => p.includes(mark))).toEqual([]);
    for (let d = media, i = 0; i < 6; d = path.dirname(d), i++) expect(existsSync(path.join(d, mark))).toBe(false);
    expect(existsSync(path.join(media, 'tmp')) ? readdirSync(path.join(media, 'tmp')) : []).toEqual([]);
  });
});
