import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import filePlugin from './index';

// Two instances (two databases, two media roots) moving file repositories through exports.
const A = '/pulp/api/v3/';
const FILES = `${A}content/file/files/`;
const REPOS = `${A}repositories/file/file/`;
const EXPORTERS = `${A}exporters/core/pulp/`;
const IMPORTERS = `${A}importers/core/pulp/`;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/* eslint-disable @typescript-eslint/no-explicit-any */
async function addFiles(t: TestPlatform, repo: string, files: Record<string, Buffer>): Promise<void> {
  for (const [p, body] of Object.entries(files)) {
    const fd = new FormData();
    fd.append('relative_path', p);
    fd.append('repository', repo);
    fd.append('file', new Blob([body]), 'f');
    const c = await t.api('POST', FILES, { multipart: fd });
    expect(c.status).toBe(202);
    expect((await t.waitTask(c.body.task)).state).toBe('completed');
  }
}

async function removeFiles(t: TestPlatform, repo: string, paths: string[]): Promise<void> {
  const units = await contentOf(t, (await t.api('GET', repo)).body.latest_version_href);
  const hrefs = units.filter((u) => paths.includes(u.relative_path)).map((u) => u.pulp_href);
  const r = await t.api('POST', `${repo}modify/`, { body: { remove_content_units: hrefs } });
  expect((await t.waitTask(r.body.task)).state).toBe('completed');
}

async function contentOf(t: TestPlatform, versionHref: string): Promise<Array<{ relative_path: string; sha256: string; pulp_href: string }>> {
  const r = await t.api('GET', `${FILES}?repository_version=${encodeURIComponent(versionHref)}&limit=1000&ordering=relative_path`);
  expect(r.status).toBe(200);
  return r.body.results;
}

async function summary(t: TestPlatform, repoName: string): Promise<{ latest: string; files: string[] }> {
  const r = await t.api('GET', `${REPOS}?name=${encodeURIComponent(repoName)}`);
  const repo = r.body.results[0];
  const files = (await contentOf(t, repo.latest_version_href)).map((u) => `${u.relative_path}=${u.sha256}`);
  return { latest: repo.latest_version_href, files };
}

async function createRepo(t: TestPlatform, name: string): Promise<string> {
  const r = await t.api('POST', REPOS, { body: { name } });
  expect(r.status).toBe(201);
  return r.body.pulp_href;
}

/** Every task of a group that did not complete, with its error (an empty list when all completed). */
const failures = (tasks: any[]) => tasks.filter((x) => x.state !== 'completed').map((x) => `${x.name}: ${x.state}: ${x.error?.description}`);

/** Waits until an import's task group is fully dispatched and every task in it is final. */
async function waitGroup(t: TestPlatform, groupHref: string): Promise<any[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const g = await t.api('GET', groupHref);
    const tasks = (await t.api('GET', `${A}tasks/?task_group=${encodeURIComponent(groupHref)}&limit=100`)).body.results;
    const final = tasks.every((x: any) => ['completed', 'failed', 'canceled', 'skipped'].includes(x.state));
    if (g.body.all_tasks_dispatched && final) return tasks;
    if (Date.now() > deadline) throw new Error(`task group ${groupHref} not done: ${JSON.stringify(tasks.map((x: any) => x.state))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('file import/export between two instances', () => {
  let up: TestPlatform;
  let down: TestPlatform;
  let shared: string;
  let exporter: string;
  let importer: string;
  const repos: Record<string, string> = {};
  const big = randomBytes(2_500_000);
  const blobs = { a: randomBytes(3000), b: randomBytes(5000), c: Buffer.from('shared text\n'), d: randomBytes(100), e: Buffer.alloc(0) };

  beforeAll(async () => {
    shared = mkdtempSync(path.join(tmpdir(), 'pith-ie-'));
    mkdirSync(path.join(shared, 'exports'));
    up = await startTestPlatform({ plugins: [filePlugin], env: { PITH_ALLOWED_EXPORT_PATHS: path.join(shared, 'exports') } });
    down = await startTestPlatform({ plugins: [filePlugin], env: { PITH_ALLOWED_IMPORT_PATHS: path.join(shared, 'exports') } });
    repos.one = await createRepo(up, 'one');
    repos.two = await createRepo(up, 'two');
    repos.three = await createRepo(up, 'three');
    await addFiles(up, repos.one, { 'a.bin': blobs.a, 'dir/b.bin': blobs.b, 'c.txt': blobs.c, 'big.bin': big });
    await addFiles(up, repos.two, { 'b.bin': blobs.b, 'c.txt': blobs.c, 'd.bin': blobs.d });
    await addFiles(up, repos.three, { 'x/a.bin': blobs.a, 'empty': blobs.e, 'big-copy.bin': big });
    const e = await up.api('POST', EXPORTERS, {
      body: { name: 'to-down', path: path.join(shared, 'exports', 'run'), repositories: [repos.one, repos.two, repos.three] },
    });
    expect(e.status).toBe(201);
    exporter = e.body.pulp_href;
    for (const n of ['one-down', 'two-down', 'three-down']) await createRepo(down, n);
    const i = await down.api('POST', IMPORTERS, { body: { name: 'from-up', repo_mapping: { one: 'one-down', two: 'two-down', three: 'three-down' } } });
    expect(i.status).toBe(201);
    importer = i.body.pulp_href;
  }, 120_000);

  afterAll(async () => {
    await up?.stop();
    await down?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  async function exportNow(body: Record<string, unknown>): Promise<any> {
    const r = await up.api('POST', `${exporter}exports/`, { body });
    expect(r.status).toBe(202);
    return up.waitTask(r.body.task);
  }

  async function importNow(body: Record<string, unknown>, t: TestPlatform = down, imp = importer): Promise<{ tasks: any[]; report: any }> {
    const r = await t.api('POST', `${imp}imports/`, { body });
    expect(r.status).toBe(202);
    const tasks = await waitGroup(t, r.body.task_group);
    const parent = tasks.find((x: any) => x.name === 'core.import');
    const imports = (await t.api('GET', `${imp}imports/`)).body.results;
    const mine = imports.find((x: any) => x.task === parent.pulp_href);
    return { tasks, report: mine?.report };
  }

  let firstToc: string;

  it('answers a dry-run export without writing anything', async () => {
    const task = await exportNow({ dry_run: true });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ dry_run: true, artifact_count: 6, artifact_bytes: 3000 + 5000 + 12 + 100 + 0 + big.length, problems: [] });
    expect(task.result.repositories.map((r: any) => [r.name, r.content_count])).toEqual([['one', 4], ['three', 3], ['two', 3]]);
    expect(readdirSync(path.join(shared, 'exports')).filter((f) => f !== 'run')).toEqual([]);
    expect(existsSync(path.join(shared, 'exports', 'run')) ? readdirSync(path.join(shared, 'exports', 'run')) : []).toEqual([]);
    expect((await up.api('GET', exporter)).body.last_export).toBeNull();
  });

  it('exports three repositories in 1 MB chunks with a TOC, each artifact once', async () => {
    const task = await exportNow({ chunk_size: '1MB' });
    expect(task.state).toBe('completed');
    const exp = (await up.api('GET', task.created_resources[0])).body;
    const files = Object.keys(exp.output_file_info);
    const chunks = files.filter((f) => /\.tar\.\d{4}$/.test(f)).sort();
    expect(chunks.length).toBe(3); // 2.5 MB of `big` (once, though two repositories hold it) + small files
    for (const c of chunks) expect(exp.output_file_info[c]).toBe(sha(readFileSync(c)));
    firstToc = exp.toc_info.file;
    expect(exp.toc_info.sha256).toBe(sha(readFileSync(firstToc)));
    expect(exp.exported_resources).toEqual(expect.arrayContaining([`${repos.one}versions/4/`, `${repos.two}versions/3/`, `${repos.three}versions/3/`]));
    expect((await up.api('GET', exporter)).body.last_export).toBe(task.created_resources[0]);
    // GNU tar reads the concatenated chunks; every artifact appears once.
    const cat = path.join(shared, 'whole.tar');
    writeFileSync(cat, Buffer.concat(chunks.map((c) => readFileSync(c))));
    const list = spawnSync('tar', ['-tf', cat], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    const names = list.stdout.trim().split('\n');
    expect(names[0]).toBe('pith-export.json');
    expect(names.filter((n) => n.startsWith('artifact/')).sort()).toEqual(
      [...new Set([blobs.a, blobs.b, blobs.c, blobs.d, blobs.e, big].map((b) => sha(b)))].map((s) => `artifact/${s.slice(0, 2)}/${s.slice(2)}`).sort(),
    );
    rmSync(cat);
  });

  it('import-check opens the TOC: chunks present with their sizes, components importable', async () => {
    const ok = await down.api('POST', `${IMPORTERS}import-check/`, { body: { toc: firstToc } });
    expect(ok.status).toBe(200);
    expect(ok.body.toc).toEqual({ context: firstToc, is_valid: true, messages: [] });
    const copy = path.join(shared, 'exports', 'check');
    mkdirSync(copy, { recursive: true });
    for (const f of readdirSync(path.dirname(firstToc))) {
      if (f.startsWith(path.basename(firstToc).replace('-toc.json', '')) && !f.endsWith('.0002')) {
        writeFileSync(path.join(copy, f), readFileSync(path.join(path.dirname(firstToc), f)));
      }
    }
    const bad = await down.api('POST', `${IMPORTERS}import-check/`, { body: { toc: path.join(copy, path.basename(firstToc)) } });
    expect(bad.body.toc.is_valid).toBe(false);
    expect(bad.body.toc.messages).toEqual([expect.stringMatching(/chunk .*\.tar\.0002 is missing/)]);
  });

  it('dry-run import reports what would change and changes nothing', async () => {
    const { tasks, report } = await importNow({ toc: firstToc, dry_run: true });
    expect(failures(tasks)).toEqual([]);
    expect(report.problems).toEqual([]);
    expect(report.repositories['one-down']).toMatchObject({ action: 'would update', added: 4, removed: 0 });
    expect(report.repositories['three-down']).toMatchObject({ added: 3 });
    expect((await summary(down, 'one-down')).latest).toMatch(/versions\/0\/$/);
    const [{ n }] = await down.platform.db.query('SELECT count(*)::int AS n FROM core_artifact');
    expect(n).toBe(0);
  });

  it('imports under other names: identical content and artifact digests', async () => {
    const { tasks, report } = await importNow({ toc: firstToc });
    expect(failures(tasks)).toEqual([]);
    expect(tasks.length).toBe(4);
    for (const [u, d] of [['one', 'one-down'], ['two', 'two-down'], ['three', 'three-down']]) {
      expect((await summary(down, d!)).files).toEqual((await summary(up, u!)).files);
      expect(report.repositories[d!]).toMatchObject({ action: 'updated', upstream: { name: u } });
    }
    const digests = async (t: TestPlatform) => (await t.platform.db.query('SELECT sha256 FROM core_artifact ORDER BY 1')).map((r: any) => r.sha256);
    expect(await digests(down)).toEqual(await digests(up));
    // The artifact bytes on disk are the upstream ones.
    expect(sha(readFileSync(path.join(down.mediaRoot, 'artifact', sha(big).slice(0, 2), sha(big).slice(2))))).toBe(sha(big));
    expect(existsSync(path.join(down.mediaRoot, 'tmp')) ? readdirSync(path.join(down.mediaRoot, 'tmp')) : []).toEqual([]);
  });

  it('re-importing the same export makes no new version', async () => {
    const before = (await summary(down, 'one-down')).latest;
    const { tasks, report } = await importNow({ toc: firstToc });
    expect(failures(tasks)).toEqual([]);
    expect(report.repositories['one-down'].action).toBe('unchanged');
    expect((await summary(down, 'one-down')).latest).toBe(before);
  });

  it('incremental export carries only the changes and imports as one new version each', async () => {
    await addFiles(up, repos.one, { 'new.bin': randomBytes(777) });
    await removeFiles(up, repos.two, ['d.bin']);
    const task = await exportNow({ full: false });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ artifact_count: 1, artifact_bytes: 777 });
    const toc = task.result.toc;
    const { tasks, report } = await importNow({ toc });
    expect(failures(tasks)).toEqual([]);
    expect(report.repositories['one-down']).toMatchObject({ action: 'updated', added: 1, removed: 0 });
    expect(report.repositories['two-down']).toMatchObject({ action: 'updated', added: 0, removed: 1 });
    expect(report.repositories['three-down'].action).toBe('unchanged');
    for (const [u, d] of [['one', 'one-down'], ['two', 'two-down'], ['three', 'three-down']]) {
      expect((await summary(down, d!)).files).toEqual((await summary(up, u!)).files);
    }
    const v = (await down.api('GET', (await summary(down, 'two-down')).latest)).body;
    expect(v.content_summary.removed['file.file'].count).toBe(1);
  });

  it('refuses an incremental export onto a repository that diverged from its base', async () => {
    await addFiles(up, repos.one, { 'later.bin': randomBytes(10) });
    const task = await exportNow({ full: false });
    expect(task.state).toBe('completed');
    const downOne = (await down.api('GET', `${REPOS}?name=one-down`)).body.results[0].pulp_href;
    await addFiles(down, downOne, { 'local-only.txt': Buffer.from('diverged') });
    const before = await summary(down, 'one-down');
    const dry = await importNow({ toc: task.result.toc, dry_run: true });
    expect(dry.report.problems.join(' ')).toMatch(/'one-down' \(upstream 'one'\) does not match the base of this incremental export/);
    const { tasks } = await importNow({ toc: task.result.toc });
    const parent = tasks.find((x) => x.name === 'core.import');
    expect(parent.state).toBe('failed');
    expect(parent.error.description).toMatch(/does not match the base of this incremental export/);
    expect(tasks.length).toBe(1);
    expect(await summary(down, 'one-down')).toEqual(before);
  });

  it('creates repositories from an export when asked, and removes nothing on a failed import', async () => {
    const third = await startTestPlatform({ plugins: [filePlugin], env: { PITH_ALLOWED_IMPORT_PATHS: path.join(shared, 'exports') } });
    try {
      const imp = (await third.api('POST', IMPORTERS, { body: { name: 'fresh' } })).body.pulp_href;
      const { tasks } = await importNow({ toc: firstToc, create_repositories: true }, third, imp);
      expect(failures(tasks)).toEqual([]);
      const names = (await third.api('GET', `${REPOS}?ordering=name`)).body.results.map((r: any) => [r.name, r.manifest, r.autopublish]);
      expect(names).toEqual([['one', 'PULP_MANIFEST', false], ['three', 'PULP_MANIFEST', false], ['two', 'PULP_MANIFEST', false]]);
      expect((await summary(third, 'two')).files.length).toBe(3);
    } finally {
      await third.stop();
    }
  }, 60_000);

  describe('hostile archives', () => {
    const evil = () => path.join(shared, 'exports', 'evil');
    beforeAll(() => mkdirSync(evil(), { recursive: true }));

    async function importTar(name: string): Promise<any> {
      const { tasks } = await importNow({ path: path.join(evil(), name) });
      const parent = tasks.find((x) => x.name === 'core.import');
      return parent;
    }

    const gnuTar = (args: string[], cwd: string) => {
      const r = spawnSync('tar', args, { cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    };

    it('refuses .. and absolute member names, symlinks, hardlinks and devices without writing outside', async () => {
      const src = mkdtempSync(path.join(tmpdir(), 'pith-evil-src-'));
      writeFileSync(path.join(src, 'pith-export.json'), '{}');
      symlinkSync('/etc/passwd', path.join(src, 'link'));
      linkSync(path.join(src, 'pith-export.json'), path.join(src, 'hard'));
      const cases: Array<[string, string[], RegExp]> = [
        ['dotdot.tar', ['-cf', path.join(evil(), 'dotdot.tar'), '--transform', 's,^,../../,', 'pith-export.json'], /\.\./],
        ['absolute.tar', ['-cf', path.join(evil(), 'absolute.tar'), '--absolute-names', path.join(src, 'pith-export.json')], /absolute|\//],
        ['symlink.tar', ['-cf', path.join(evil(), 'symlink.tar'), 'link'], /link/i],
        // `hard` goes in first as a file, the manifest as a hard link to it; then `hard` is deleted.
        ['hardlink.tar', ['-cf', path.join(evil(), 'hardlink.tar'), 'hard', 'pith-export.json'], /link/i],
      ];
      for (const [name, args, message] of cases) {
        gnuTar(args, src);
        if (name === 'hardlink.tar') gnuTar(['--delete', '-f', path.join(evil(), name), 'hard'], src);
        const parent = await importTar(name);
        expect(parent.state).toBe('failed');
        expect(parent.error.description).toMatch(message);
      }
      expect(existsSync(path.join(down.mediaRoot, '..', 'pith-export.json'))).toBe(false);
      expect(readdirSync(path.join(down.mediaRoot, 'tmp'))).toEqual([]);
      rmSync(src, { recursive: true, force: true });
    });

    it('refuses a manifest that is not a Pith export and a truncated archive', async () => {
      const src = mkdtempSync(path.join(tmpdir(), 'pith-evil-src-'));
      writeFileSync(path.join(src, 'pith-export.json'), JSON.stringify({ format: 'something-else' }));
      gnuTar(['-cf', path.join(evil(), 'notpith.tar'), 'pith-export.json'], src);
      expect((await importTar('notpith.tar')).error.description).toMatch(/manifest is invalid: format/);
      const whole = readFileSync(firstToc.replace('-toc.json', '.tar.0000'));
      writeFileSync(path.join(evil(), 'truncated.tar'), whole.subarray(0, 700_000));
      const parent = await importTar('truncated.tar');
      expect(parent.state).toBe('failed');
      expect(parent.error.description).toMatch(/truncat|ends/i);
      rmSync(src, { recursive: true, force: true });
    });

    it('refuses rows that do not match the ModelResources, leaving no new version', async () => {
      // Rebuild a valid archive (digests in the manifest updated) whose content rows carry an unknown field.
      const dir = mkdtempSync(path.join(tmpdir(), 'pith-evil-rows-'));
      const chunks = readdirSync(path.dirname(firstToc)).filter((f) => f.startsWith(path.basename(firstToc).replace('-toc.json', '.tar.'))).sort();
      const whole = path.join(dir, 'whole.tar');
      writeFileSync(whole, Buffer.concat(chunks.map((c) => readFileSync(path.join(path.dirname(firstToc), c)))));
      const order = spawnSync('tar', ['-tf', whole], { encoding: 'utf8' }).stdout.trim().split('\n');
      gnuTar(['-xf', whole], dir);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'pith-export.json'), 'utf8'));
      const member = manifest.repositories[0].members.find((m: any) => m.resource === 'file.FileContent');
      const rows = readFileSync(path.join(dir, member.name), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      rows[0].colour = 'red';
      const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
      writeFileSync(path.join(dir, member.name), text);
      Object.assign(member, { size: Buffer.byteLength(text), sha256: sha(text) });
      writeFileSync(path.join(dir, 'pith-export.json'), JSON.stringify(manifest));
      gnuTar(['-cf', path.join(evil(), 'badrows.tar'), '--format=pax', ...order], dir);
      rmSync(dir, { recursive: true, force: true });
      const before = await down.platform.db.query('SELECT count(*)::int AS n FROM core_repositoryversion');
      const { tasks } = await importNow({ path: path.join(evil(), 'badrows.tar') });
      const failed = tasks.filter((x) => x.state === 'failed');
      expect(failed.map((x) => x.error.description)).toEqual([expect.stringMatching(/row 1: 'colour' is not a field of file\.file/)]);
      expect(await down.platform.db.query('SELECT count(*)::int AS n FROM core_repositoryversion')).toEqual(before);
    });

    it('refuses a TOC that points outside its folder', async () => {
      const toc = path.join(evil(), 'outside-toc.json');
      writeFileSync(toc, JSON.stringify({ format: 'pith-export', format_version: 1, checksum_type: 'sha256', chunk_size: null, meta: {}, files: { '../outside.tar': 'a'.repeat(64) }, sizes: { '../outside.tar': 1 } }));
      const { tasks } = await importNow({ toc });
      expect(tasks[0].state).toBe('failed');
      expect(tasks[0].error.description).toMatch(/outside\.tar/);
    });

    it('refuses a TOC whose chunk does not match its checksum, before writing anything', async () => {
      const dir = path.join(evil(), 'badchunk');
      mkdirSync(dir, { recursive: true });
      const tocDir = path.dirname(firstToc);
      for (const f of readdirSync(tocDir)) if (f.startsWith(path.basename(firstToc).replace('-toc.json', ''))) writeFileSync(path.join(dir, f), readFileSync(path.join(tocDir, f)));
      const chunk = readdirSync(dir).find((f) => f.endsWith('.tar.0001'))!;
      const bytes = readFileSync(path.join(dir, chunk));
      bytes[1000] ^= 0xff;
      writeFileSync(path.join(dir, chunk), bytes);
      const before = await down.platform.db.query('SELECT count(*)::int AS n FROM core_repositoryversion');
      const { tasks } = await importNow({ toc: path.join(dir, path.basename(firstToc)) });
      const parent = tasks.find((x) => x.name === 'core.import');
      expect(parent.state).toBe('failed');
      expect(parent.error.description).toContain(chunk);
      expect(await down.platform.db.query('SELECT count(*)::int AS n FROM core_repositoryversion')).toEqual(before);
    });
  });
});
