import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { definePlugin } from '@pith/plugin-api';
import { startTestPlatform, testPlugin, type TestPlatform } from '@pith/test-utils';
import { uuid7 } from '../util/uuid7';
import { lintOpenApi } from '../openapi/openapi-lint';
import { EXPORT_TASK, IMPORT_TASK, type ExportTaskPayload, type ImportTaskPayload } from './import-export.dto';

const API = '/pulp/api/v3/';
const EXPORTERS = `${API}exporters/core/pulp/`;
const IMPORTERS = `${API}importers/core/pulp/`;
const EXPORTER_FIELDS = ['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'name', 'path', 'repositories', 'last_export'].sort();
const EXPORT_FIELDS = ['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'task', 'exported_resources', 'params', 'output_file_info', 'toc_info', 'summary'].sort();
const IMPORTER_FIELDS = ['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'name', 'repo_mapping'].sort();
const IMPORT_FIELDS = ['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'task', 'params', 'task_group', 'report'].sort();
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The test content plugin, declared exportable (resources do not matter here: no task runs). */
const exportableTestPlugin = definePlugin({ ...testPlugin, exportable: { repositoryTypes: ['test.thing'], IMPORT_ORDER: [] } });
/** A repository type whose plugin declares no ModelResources. */
const noExportPlugin = definePlugin({ apiVersion: 1, id: 'noexp', version: '0.0.1', repositoryTypes: [{ type: 'box', contentTypes: [] }] });

const idOf = (href: string) => href.split('/').filter(Boolean).pop()!;
const keys = (o: object) => Object.keys(o).sort();

describe('import/export REST API (exporters, exports, importers, imports, import-check)', () => {
  let t: TestPlatform;
  let base: string;
  let exportRoot: string;
  let importRoot: string;
  let outside: string;
  const repo: Record<'alpha' | 'beta' | 'box', { href: string; id: string }> = {} as never;
  const version: Record<string, string> = {}; // version hrefs by "<repo>/<n>"

  const api = (method: string, p: string, body?: unknown, headers?: Record<string, string>) => t.api(method, p, { body, headers });

  async function taskRow(href: string) {
    return (await t.platform.db.one<{
      name: string; state: string; args: Record<string, unknown>; exclusive_resources: string[]; shared_resources: string[]; task_group_id: string | null;
    }>('SELECT name, state, args, exclusive_resources, shared_resources, task_group_id FROM core_task WHERE pulp_id = $1', [idOf(href)]))!;
  }

  async function createExporter(name: string, repositories: string[], extra: Record<string, unknown> = {}) {
    const r = await api('POST', EXPORTERS, { name, path: path.join(exportRoot, name), repositories, ...extra });
    if (r.status !== 201) throw new Error(`create exporter ${name}: ${r.status} ${r.text}`);
    return r.body as Record<string, unknown> & { pulp_href: string };
  }

  async function seedExport(exporterHref: string, o: { versions?: Array<{ repo: string; id: string; number: number }>; files?: Record<string, string>; taskId?: string } = {}) {
    const id = uuid7();
    await t.platform.db.query(
      `INSERT INTO core_pulpexport (pulp_id, exporter_id, task_id, params, exported_versions, output_file_info, toc_info, summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, idOf(exporterHref), o.taskId ?? null, JSON.stringify({ full: true }),
        JSON.stringify((o.versions ?? []).map((v) => ({ repository_id: v.repo, version_id: v.id, number: v.number, base_number: null }))),
        o.files ? JSON.stringify(o.files) : null, o.files ? JSON.stringify({ file: Object.keys(o.files)[0], sha256: 'ab', meta: {} }) : null,
        JSON.stringify({ artifacts: 0 })],
    );
    return { id, href: `${exporterHref}exports/${id}/` };
  }

  async function versionId(key: string): Promise<string> {
    const [name, n] = key.split('/');
    const row = await t.platform.db.one<{ pulp_id: string }>(
      'SELECT v.pulp_id FROM core_repositoryversion v JOIN core_repository r ON r.pulp_id = v.repository_id WHERE r.name = $1 AND v.number = $2',
      [`ie-${name}`, Number(n)],
    );
    return row!.pulp_id;
  }

  beforeAll(async () => {
    base = realpathSync(mkdtempSync(path.join(tmpdir(), 'pith-ie-api-')));
    exportRoot = path.join(base, 'exports');
    importRoot = path.join(base, 'imports');
    outside = path.join(base, 'outside');
    for (const d of [exportRoot, importRoot, outside, path.join(base, 'exports-evil'), path.join(importRoot, 'adir')]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(exportRoot, 'a-file'), 'x');
    writeFileSync(path.join(importRoot, 'export.tar'), 'tar');
    writeFileSync(path.join(importRoot, 'export-toc.json'), '{}');
    writeFileSync(path.join(outside, 'secret.tar'), 'x');
    symlinkSync(path.join(importRoot, 'export.tar'), path.join(importRoot, 'link.tar'));
    symlinkSync(path.join(outside, 'secret.tar'), path.join(importRoot, 'escape.tar'));
    symlinkSync(outside, path.join(exportRoot, 'escape'));

    t = await startTestPlatform({
      plugins: [exportableTestPlugin, noExportPlugin],
      workers: 0, // tasks stay waiting: these tests check what is dispatched, not the handlers
      env: { PITH_ALLOWED_EXPORT_PATHS: exportRoot, PITH_ALLOWED_IMPORT_PATHS: importRoot },
    });
    // Handlers are registered by the platform; stand-ins only while they are not (never run here).
    for (const name of [EXPORT_TASK, IMPORT_TASK]) {
      if (!t.platform.registry.tasks.has(name)) t.platform.registry.addTask({ name, resources: () => ({}), run: async () => undefined });
    }
    for (const [key, endpoint] of [['alpha', 'test/thing'], ['beta', 'test/thing'], ['box', 'noexp/box']] as const) {
      const r = await api('POST', `${API}repositories/${endpoint}/`, { name: `ie-${key}` });
      if (r.status !== 201) throw new Error(`repository ${key}: ${r.status} ${r.text}`);
      repo[key] = { href: r.body.pulp_href, id: idOf(r.body.pulp_href) };
      version[`${key}/0`] = `${r.body.pulp_href}versions/0/`;
    }
    // alpha: versions 1, 2 complete and 3 being built; beta: version 1.
    const addVersion = async (key: 'alpha' | 'beta', n: number, complete = true) => {
      await t.platform.db.query('INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, $3, $4)', [uuid7(), repo[key].id, n, complete]);
      await t.platform.db.query('UPDATE core_repository SET next_version = $2 WHERE pulp_id = $1', [repo[key].id, n + 1]);
      version[`${key}/${n}`] = `${repo[key].href}versions/${n}/`;
    };
    await addVersion('alpha', 1);
    await addVersion('alpha', 2);
    await addVersion('alpha', 3, false);
    await addVersion('beta', 1);
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------------
  describe('exporters', () => {
    it('creates, reads, lists and serializes exactly the Pulp fields', async () => {
      const created = await api('POST', EXPORTERS, { name: 'ex-crud', path: path.join(exportRoot, 'crud'), repositories: [repo.beta.href, repo.alpha.href] });
      expect(created.status).toBe(201);
      expect(keys(created.body)).toEqual(EXPORTER_FIELDS);
      expect(created.body.pulp_href).toMatch(new RegExp(`^${EXPORTERS}${UUID}/$`));
      expect(created.body.prn).toBe(`prn:core.pulpexporter:${idOf(created.body.pulp_href)}`);
      expect(created.body).toMatchObject({ name: 'ex-crud', path: path.join(exportRoot, 'crud'), last_export: null });
      // Sorted by repository name, whatever the order given.
      expect(created.body.repositories).toEqual([repo.alpha.href, repo.beta.href]);

      const read = await api('GET', created.body.pulp_href);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
      expect(read.headers.get('etag')).toMatch(/^"[^"]+"$/);
      const rows = await t.platform.db.query('SELECT repository_id FROM core_pulpexporter_repositories WHERE exporter_id = $1 ORDER BY repository_id', [idOf(created.body.pulp_href)]);
      expect(rows.map((r) => r.repository_id).sort()).toEqual([repo.alpha.id, repo.beta.id].sort());

      const list = await api('GET', `${EXPORTERS}?name=ex-crud`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ count: 1, next: null, previous: null, results: [created.body] });
    });

    it('filters by name lookups and orders', async () => {
      for (const n of ['flt-Apple', 'flt-banana', 'flt-cherry']) await createExporter(n, []);
      const names = async (q: string) => {
        const r = await api('GET', `${EXPORTERS}?${q}`);
        expect(r.status).toBe(200);
        return (r.body.results as Array<{ name: string }>).map((x) => x.name);
      };
      expect(await names('name__startswith=flt-')).toEqual(['flt-Apple', 'flt-banana', 'flt-cherry']);
      expect(await names('name__startswith=flt-&ordering=-name')).toEqual(['flt-cherry', 'flt-banana', 'flt-Apple']);
      expect(await names('name__in=flt-banana,flt-cherry')).toEqual(['flt-banana', 'flt-cherry']);
      expect(await names('name__contains=an')).toEqual(['flt-banana']);
      expect(await names('name__contains=apple')).toEqual([]);
      expect(await names('name__icontains=apple')).toEqual(['flt-Apple']);
      expect(await names('name=flt-cherry')).toEqual(['flt-cherry']);
      const one = await api('GET', `${EXPORTERS}?name=flt-cherry`);
      expect(await names(`pulp_href__in=${one.body.results[0].pulp_href}`)).toEqual(['flt-cherry']);
      expect((await api('GET', `${EXPORTERS}?colour=red`)).status).toBe(400);
      expect((await api('GET', `${EXPORTERS}?ordering=nope`)).status).toBe(400);
    });

    it('updates with PATCH and PUT, honouring If-Match', async () => {
      const ex = await createExporter('ex-update', [repo.alpha.href]);
      const etag = (await api('GET', ex.pulp_href)).headers.get('etag')!;
      const patched = await api('PATCH', ex.pulp_href, { repositories: [repo.beta.href], path: path.join(exportRoot, 'elsewhere') }, { 'If-Match': etag });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'ex-update', path: path.join(exportRoot, 'elsewhere'), repositories: [repo.beta.href] });
      expect(patched.body.pulp_last_updated > String(ex.pulp_last_updated)).toBe(true);
      expect((await api('GET', ex.pulp_href)).body).toEqual(patched.body);
      // The old ETag is stale now.
      const stale = await api('PATCH', ex.pulp_href, { name: 'ex-update-2' }, { 'If-Match': etag });
      expect(stale.status).toBe(412);
      expect((await api('GET', ex.pulp_href)).body.name).toBe('ex-update');

      const put = await api('PUT', ex.pulp_href, { name: 'ex-update-2', path: path.join(exportRoot, 'put'), repositories: [] });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'ex-update-2', path: path.join(exportRoot, 'put'), repositories: [], last_export: null });
      const incomplete = await api('PUT', ex.pulp_href, { name: 'ex-update-3' });
      expect(incomplete.status).toBe(400);
      expect(incomplete.body).toEqual({ path: ['This field is required.'], repositories: ['This field is required.'] });
      expect((await api('PATCH', `${EXPORTERS}${uuid7()}/`, { name: 'x' })).status).toBe(404);
    });

    it('refuses invalid bodies with field-level 400s', async () => {
      await createExporter('ex-taken', []);
      const bad = async (body: Record<string, unknown>) => {
        const r = await api('POST', EXPORTERS, { name: 'ex-bad', path: path.join(exportRoot, 'bad'), repositories: [], ...body });
        expect(r.status).toBe(400);
        return r.body;
      };
      expect(await bad({ name: 'ex-taken' })).toEqual({ name: ['This field must be unique.'] });
      expect(await bad({ path: 'relative/dir' })).toEqual({ path: ["'relative/dir' is not an absolute path."] });
      expect(await bad({ path: path.join(outside, 'x') })).toEqual({ path: [`'${path.join(outside, 'x')}' is not an allowed export path; allowed: ${exportRoot}.`] });
      // A sibling sharing the root's name prefix, `..` out of the root and a symlink out of it.
      expect((await bad({ path: path.join(base, 'exports-evil') })).path[0]).toContain('is not an allowed export path');
      expect((await bad({ path: `${exportRoot}/../outside` })).path[0]).toContain('is not an allowed export path');
      expect((await bad({ path: path.join(exportRoot, 'escape', 'x') })).path[0]).toContain('is not an allowed export path');
      expect(await bad({ path: path.join(exportRoot, 'a-file') })).toEqual({ path: [`Path '${path.join(exportRoot, 'a-file')}' must be a directory path.`] });
      expect(await bad({ repositories: [`${API}repositories/test/thing/${uuid7()}/`] })).toEqual({ repositories: ['Invalid hyperlink - Object does not exist.'] });
      expect((await bad({ repositories: ['not-an-href'] })).repositories[0]).toMatch(/^Invalid hyperlink/);
      expect(await bad({ repositories: [repo.alpha.href, repo.box.href] })).toEqual({
        repositories: ['Repository type noexp.box cannot be exported: plugin noexp declares no ModelResources.'],
      });
      expect(await bad({ repositories: 'x' })).toHaveProperty('repositories');
      expect(await bad({ colour: 'red' })).toEqual({ colour: ['Unexpected field'] });
      const missing = await api('POST', EXPORTERS, {});
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ name: ['This field is required.'], path: ['This field is required.'], repositories: ['This field is required.'] });
      expect((await api('GET', `${EXPORTERS}?name=ex-bad`)).body.count).toBe(0);
    });

    it('has a writable last_export limited to its own exports; deleting the export clears it', async () => {
      const a = await createExporter('ex-last-a', [repo.alpha.href]);
      const b = await createExporter('ex-last-b', [repo.alpha.href]);
      const exA = await seedExport(a.pulp_href);
      const exB = await seedExport(b.pulp_href);
      const set = await api('PATCH', a.pulp_href, { last_export: exA.href });
      expect(set.status).toBe(200);
      expect(set.body.last_export).toBe(exA.href);
      const viaPrn = await api('PATCH', a.pulp_href, { last_export: `prn:core.pulpexport:${exA.id}` });
      expect(viaPrn.body.last_export).toBe(exA.href);

      const foreign = await api('PATCH', a.pulp_href, { last_export: exB.href });
      expect(foreign.status).toBe(400);
      expect(foreign.body).toEqual({ last_export: ['Must be an export of this exporter.'] });
      // B's export addressed under A's href is still B's export.
      const disguised = await api('PATCH', a.pulp_href, { last_export: `${a.pulp_href}exports/${exB.id}/` });
      expect(disguised.body).toEqual({ last_export: ['Must be an export of this exporter.'] });
      const missing = await api('PATCH', a.pulp_href, { last_export: `${a.pulp_href}exports/${uuid7()}/` });
      expect(missing.body).toEqual({ last_export: ['Invalid hyperlink - Object does not exist.'] });
      expect((await api('PATCH', a.pulp_href, { last_export: repo.alpha.href })).body.last_export[0]).toMatch(/^Invalid hyperlink - not an export href/);
      const onCreate = await api('POST', EXPORTERS, { name: 'ex-last-c', path: path.join(exportRoot, 'c'), repositories: [], last_export: exA.href });
      expect(onCreate.body).toEqual({ last_export: ['Must be an export of this exporter.'] });

      expect((await api('DELETE', exA.href)).status).toBe(204);
      expect((await api('GET', a.pulp_href)).body.last_export).toBeNull();
      const exA2 = await seedExport(a.pulp_href);
      await api('PATCH', a.pulp_href, { last_export: exA2.href });
      const cleared = await api('PATCH', a.pulp_href, { last_export: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body.last_export).toBeNull();
    });

    it('deletes synchronously with its exports (also when one is its last_export), but not while a task holds it', async () => {
      const ex = await createExporter('ex-delete', [repo.alpha.href]);
      const one = await seedExport(ex.pulp_href);
      await api('PATCH', ex.pulp_href, { last_export: one.href });
      const etag = (await api('GET', ex.pulp_href)).headers.get('etag')!;

      const task = await api('POST', `${ex.pulp_href}exports/`, {});
      expect(task.status).toBe(202);
      const busy = await api('DELETE', ex.pulp_href);
      expect(busy.status).toBe(409);
      expect(busy.body.detail).toContain(task.body.task);
      await t.platform.db.query(`UPDATE core_task SET state = 'completed', finished_at = now() WHERE pulp_id = $1`, [idOf(task.body.task)]);

      expect((await api('DELETE', ex.pulp_href, undefined, { 'If-Match': '"stale"' })).status).toBe(412);
      expect((await api('DELETE', ex.pulp_href, undefined, { 'If-Match': etag })).status).toBe(204);
      expect((await api('GET', ex.pulp_href)).status).toBe(404);
      expect(await t.platform.db.query('SELECT 1 FROM core_pulpexport WHERE exporter_id = $1', [idOf(ex.pulp_href)])).toEqual([]);
      expect(await t.platform.db.query('SELECT 1 FROM core_pulpexporter_repositories WHERE exporter_id = $1', [idOf(ex.pulp_href)])).toEqual([]);
      expect((await api('DELETE', ex.pulp_href)).status).toBe(404);
    });

    it('drops a deleted repository from its exporters', async () => {
      const r = await api('POST', `${API}repositories/test/thing/`, { name: 'ie-doomed' });
      const ex = await createExporter('ex-doomed', [repo.alpha.href, r.body.pulp_href]);
      expect(ex.repositories).toEqual([repo.alpha.href, r.body.pulp_href]);
      await t.platform.db.query('DELETE FROM core_repository WHERE pulp_id = $1', [idOf(r.body.pulp_href)]);
      expect((await api('GET', ex.pulp_href)).body.repositories).toEqual([repo.alpha.href]);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('exports', () => {
    let ex: { pulp_href: string };
    beforeAll(async () => {
      ex = await createExporter('ex-exports', [repo.beta.href, repo.alpha.href]);
    });
    const post = (body?: unknown, exporter = ex.pulp_href) => api('POST', `${exporter}exports/`, body);

    it('dispatches core.export with the latest complete versions, locking the exporter and sharing the repositories', async () => {
      const r = await post({});
      expect(r.status).toBe(202);
      expect(keys(r.body)).toEqual(['task']);
      expect(r.body.task).toMatch(new RegExp(`^${API}tasks/${UUID}/$`));
      const task = await taskRow(r.body.task);
      expect(task.name).toBe(EXPORT_TASK);
      expect(task.state).toBe('waiting');
      expect(task.exclusive_resources).toEqual([ex.pulp_href]);
      expect([...task.shared_resources].sort()).toEqual([repo.alpha.href, repo.beta.href].sort());
      const expected: ExportTaskPayload = {
        exporter_id: idOf(ex.pulp_href),
        // Ordered by repository name; alpha's version 3 is incomplete, so 2 is its latest.
        versions: [
          { repository_id: repo.alpha.id, version_id: await versionId('alpha/2') },
          { repository_id: repo.beta.id, version_id: await versionId('beta/1') },
        ],
        start_versions: null,
        from_last_export: false,
        chunk_size: null,
        meta: null,
        dry_run: false,
        params: {},
      };
      expect(task.args).toEqual(expected);
      expect((await api('GET', r.body.task)).body.name).toBe(EXPORT_TASK);
      // Nothing is created before the task runs.
      expect((await api('GET', `${ex.pulp_href}exports/`)).body.count).toBe(0);
    });

    it('passes explicit versions, chunk size, meta and dry_run; params keep the body as given', async () => {
      const body = { versions: [version['beta/0'], version['alpha/1']], chunk_size: '10MB', meta: { site: 'a', n: 1 }, dry_run: true, full: true };
      const r = await post(body);
      expect(r.status).toBe(202);
      const args = (await taskRow(r.body.task)).args as unknown as ExportTaskPayload;
      expect(args.versions).toEqual([
        { repository_id: repo.alpha.id, version_id: await versionId('alpha/1') },
        { repository_id: repo.beta.id, version_id: await versionId('beta/0') },
      ]);
      expect(args).toMatchObject({ chunk_size: 10 * 1024 * 1024, meta: { site: 'a', n: 1 }, dry_run: true, start_versions: null, from_last_export: false });
      expect(args.params).toEqual(body);
      expect((await taskRow((await post({ chunk_size: 4096 })).body.task)).args.chunk_size).toBe(4096);
    });

    it('builds incremental payloads from start_versions or from the last export', async () => {
      const explicit = await post({ full: false, start_versions: [version['alpha/1'], version['beta/0']] });
      expect(explicit.status).toBe(202);
      expect((await taskRow(explicit.body.task)).args).toMatchObject({
        start_versions: [
          { repository_id: repo.alpha.id, version_id: await versionId('alpha/1') },
          { repository_id: repo.beta.id, version_id: await versionId('beta/0') },
        ],
        from_last_export: false,
      });

      const noBase = await post({ full: false });
      expect(noBase.status).toBe(400);
      expect(noBase.body).toEqual({ non_field_errors: ['Incremental export can only be requested when there is a previous export or start_versions= has been specified.'] });

      const last = await seedExport(ex.pulp_href, { versions: [{ repo: repo.alpha.id, id: await versionId('alpha/1'), number: 1 }] });
      expect((await api('PATCH', ex.pulp_href, { last_export: last.href })).status).toBe(200);
      const fromLast = await post({ full: false });
      expect(fromLast.status).toBe(202);
      expect((await taskRow(fromLast.body.task)).args).toMatchObject({ start_versions: null, from_last_export: true, params: { full: false } });
      await api('PATCH', ex.pulp_href, { last_export: null });
      await t.platform.db.query('DELETE FROM core_pulpexport WHERE pulp_id = $1', [last.id]);
    });

    it('refuses version sets that do not match the exporter', async () => {
      const expect400 = async (body: unknown, expected: unknown) => {
        const r = await post(body);
        expect(r.status).toBe(400);
        expect(r.body).toEqual(expected);
      };
      await expect400({ start_versions: [version['alpha/1'], version['beta/0']] }, { start_versions: ['start_versions is only valid for incremental exports (full=false).'] });
      await expect400({ versions: [version['alpha/1']] }, { versions: ['Number of versions (1) does not match the number of repositories (2) of the exporter.'] });
      await expect400({ versions: [version['alpha/1'], version['alpha/2']] }, { versions: ["More than one version of repository 'ie-alpha' was given."] });
      await expect400({ versions: [version['alpha/1'], version['box/0']] }, { versions: [`${version['box/0']} is not a version of one of the exporter's repositories.`] });
      await expect400({ versions: [version['alpha/1'], `${repo.beta.href}versions/9/`] }, { versions: ['Invalid hyperlink - Object does not exist.'] });
      // An incomplete version names nothing.
      await expect400({ versions: [version['alpha/3'], version['beta/1']] }, { versions: ['Invalid hyperlink - Object does not exist.'] });
      await expect400({ versions: [repo.alpha.href, version['beta/1']] }, { versions: [`Invalid hyperlink - not a repository version href: "${repo.alpha.href}"`] });
      await expect400(
        { full: false, versions: [version['alpha/1'], version['beta/1']], start_versions: [version['alpha/2'], version['beta/1']] },
        { start_versions: ["Start version 2 of repository 'ie-alpha' is newer than the version to export (1)."] },
      );
      await expect400({ full: false, start_versions: [version['alpha/1']] }, { start_versions: ['Number of versions (1) does not match the number of repositories (2) of the exporter.'] });
      await expect400({ full: 'yes' }, { full: ['full must be a boolean value'] });
      await expect400({ full: null }, { full: ['full must be a boolean value'] });
      await expect400({ meta: 'x' }, { meta: ['meta must be an object'] });
      await expect400({ path: '/x' }, { path: ['Unexpected field'] });
    });

    it('refuses bad chunk sizes', async () => {
      for (const chunk_size of ['10XB', '0', 0, -5, '2TB', 1.5, 'lots']) {
        const r = await post({ chunk_size });
        expect(r.status).toBe(400);
        expect(Object.keys(r.body)).toEqual(['chunk_size']);
      }
      const r = await post({ chunk_size: '2TB' });
      expect(r.body.chunk_size[0]).toMatch(/chunk_size/);
      expect((await post({ chunk_size: true })).status).toBe(400);
    });

    it('refuses exporters that cannot export now: no repositories, unexportable types, path no longer allowed', async () => {
      const empty = await createExporter('ex-empty', []);
      const r1 = await post({}, empty.pulp_href);
      expect(r1.status).toBe(400);
      expect(r1.body).toEqual({ non_field_errors: ['The exporter has no repositories to export.'] });

      const boxy = await createExporter('ex-boxy', [repo.alpha.href]);
      // The API never adds such a repository; the declaration can change with the plugin list.
      await t.platform.db.query('INSERT INTO core_pulpexporter_repositories (exporter_id, repository_id) VALUES ($1, $2)', [idOf(boxy.pulp_href), repo.box.id]);
      const r2 = await post({}, boxy.pulp_href);
      expect(r2.status).toBe(400);
      expect(r2.body).toEqual({ non_field_errors: ['Repository type noexp.box cannot be exported: plugin noexp declares no ModelResources.'] });

      const moved = await createExporter('ex-moved', [repo.alpha.href]);
      await t.platform.db.query('UPDATE core_pulpexporter SET path = $2 WHERE pulp_id = $1', [idOf(moved.pulp_href), path.join(outside, 'x')]);
      const r3 = await post({}, moved.pulp_href);
      expect(r3.status).toBe(400);
      expect(r3.body.non_field_errors[0]).toBe(`The exporter's path cannot be used: '${path.join(outside, 'x')}' is not an allowed export path; allowed: ${exportRoot}.`);

      expect((await post({}, `${EXPORTERS}${uuid7()}/`)).status).toBe(404);
      const tasks = await t.platform.db.query(`SELECT 1 FROM core_task WHERE exclusive_resources && $1::text[]`, [[empty.pulp_href, boxy.pulp_href, moved.pulp_href]]);
      expect(tasks).toEqual([]);
    });

    it('lists, reads and deletes exports (deleting leaves the files)', async () => {
      const other = await createExporter('ex-other', [repo.alpha.href]);
      const file = path.join(exportRoot, 'ex-exports', 'export-1.tar');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'tar');
      const task = await post({});
      const e1 = await seedExport(ex.pulp_href, {
        versions: [{ repo: repo.alpha.id, id: await versionId('alpha/2'), number: 2 }, { repo: repo.beta.id, id: await versionId('beta/1'), number: 1 }],
        files: { [file]: 'cafe' },
        taskId: idOf(task.body.task),
      });
      const e2 = await seedExport(ex.pulp_href);
      const foreign = await seedExport(other.pulp_href);

      const read = await api('GET', e1.href);
      expect(read.status).toBe(200);
      expect(keys(read.body)).toEqual(EXPORT_FIELDS);
      expect(read.body).toEqual({
        pulp_href: e1.href,
        prn: `prn:core.pulpexport:${e1.id}`,
        pulp_created: expect.any(String),
        pulp_last_updated: expect.any(String),
        task: task.body.task,
        exported_resources: [version['alpha/2'], version['beta/1']],
        params: { full: true },
        output_file_info: { [file]: 'cafe' },
        toc_info: { file, sha256: 'ab', meta: {} },
        summary: { artifacts: 0 },
      });

      const list = await api('GET', `${ex.pulp_href}exports/`);
      expect(list.body.count).toBe(2);
      expect(list.body.results.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([e2.href, e1.href]); // newest first
      expect((await api('GET', `${ex.pulp_href}exports/?pulp_href__in=${e1.href}`)).body.results.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([e1.href]);
      expect((await api('GET', `${ex.pulp_href}exports/?prn__in=prn:core.pulpexport:${e2.id}`)).body.count).toBe(1);
      expect((await api('GET', `${ex.pulp_href}exports/?pulp_href__in=${repo.alpha.href}`)).status).toBe(400);
      // Another exporter's export is not found under this exporter.
      expect((await api('GET', `${ex.pulp_href}exports/${foreign.id}/`)).status).toBe(404);
      expect((await api('DELETE', `${ex.pulp_href}exports/${foreign.id}/`)).status).toBe(404);

      expect((await api('DELETE', e1.href)).status).toBe(204);
      expect((await api('GET', e1.href)).status).toBe(404);
      expect(existsSync(file)).toBe(true);
      expect((await api('GET', `${ex.pulp_href}exports/`)).body.count).toBe(1);
      await api('DELETE', e2.href);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('importers', () => {
    it('creates, reads, lists, updates and deletes importers', async () => {
      const created = await api('POST', IMPORTERS, { name: 'im-crud', repo_mapping: { upstream: 'ie-alpha', other: 'ie-beta' } });
      expect(created.status).toBe(201);
      expect(keys(created.body)).toEqual(IMPORTER_FIELDS);
      expect(created.body.pulp_href).toMatch(new RegExp(`^${IMPORTERS}${UUID}/$`));
      expect(created.body).toMatchObject({ prn: `prn:core.pulpimporter:${idOf(created.body.pulp_href)}`, name: 'im-crud', repo_mapping: { upstream: 'ie-alpha', other: 'ie-beta' } });
      expect((await api('GET', created.body.pulp_href)).body).toEqual(created.body);
      const bare = await api('POST', IMPORTERS, { name: 'im-bare' });
      expect(bare.body.repo_mapping).toEqual({});

      const list = await api('GET', `${IMPORTERS}?name__startswith=im-&ordering=-name`);
      expect(list.body.results.map((x: { name: string }) => x.name)).toEqual(['im-crud', 'im-bare']);
      expect((await api('GET', `${IMPORTERS}?name__icontains=CRUD`)).body.count).toBe(1);

      const etag = (await api('GET', created.body.pulp_href)).headers.get('etag')!;
      const patched = await api('PATCH', created.body.pulp_href, { repo_mapping: { x: 'ie-box' } }, { 'If-Match': etag });
      expect(patched.status).toBe(200);
      expect(patched.body.repo_mapping).toEqual({ x: 'ie-box' });
      expect((await api('PATCH', created.body.pulp_href, { name: 'im-other' }, { 'If-Match': etag })).status).toBe(412);
      const put = await api('PUT', created.body.pulp_href, { name: 'im-crud2' });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'im-crud2', repo_mapping: { x: 'ie-box' } });
      expect((await api('PUT', created.body.pulp_href, {})).body).toEqual({ name: ['This field is required.'] });

      expect((await api('DELETE', created.body.pulp_href)).status).toBe(204);
      expect((await api('GET', created.body.pulp_href)).status).toBe(404);
    });

    it('refuses duplicate names and mappings to missing repositories', async () => {
      await api('POST', IMPORTERS, { name: 'im-dup' });
      expect((await api('POST', IMPORTERS, { name: 'im-dup' })).body).toEqual({ name: ['This field must be unique.'] });
      const missing = await api('POST', IMPORTERS, { name: 'im-missing', repo_mapping: { a: 'zz-nope', b: 'ie-alpha', c: 'aa-nope' } });
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({ repo_mapping: ['Failed to find repositories from repo_mapping: names: ["aa-nope","zz-nope"]'] });
      expect((await api('POST', IMPORTERS, { name: 'im-x', repo_mapping: { a: 1 } })).body).toHaveProperty('repo_mapping');
      expect((await api('POST', IMPORTERS, { name: 'im-x', repo_mapping: ['a'] })).body).toHaveProperty('repo_mapping');
      expect((await api('POST', IMPORTERS, { name: 'im-x', repo_mapping: null })).body).toHaveProperty('repo_mapping');
      expect((await api('GET', `${IMPORTERS}?name__in=im-missing,im-x`)).body.count).toBe(0);
      const dup = await api('POST', IMPORTERS, { name: 'im-dup2' });
      expect((await api('PATCH', dup.body.pulp_href, { name: 'im-dup' })).body).toEqual({ name: ['This field must be unique.'] });
      expect((await api('PATCH', dup.body.pulp_href, { repo_mapping: { a: 'nope' } })).body).toEqual({ repo_mapping: ['Failed to find repositories from repo_mapping: names: ["nope"]'] });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('imports', () => {
    let importer: { pulp_href: string };
    beforeAll(async () => {
      importer = (await api('POST', IMPORTERS, { name: 'im-imports' })).body;
    });
    const post = (body: unknown, href = importer.pulp_href) => api('POST', `${href}imports/`, body);

    it('creates the import, a task group and core.import in it', async () => {
      const body = { path: path.join(importRoot, 'link.tar') };
      const r = await post(body);
      expect(r.status).toBe(202);
      expect(keys(r.body)).toEqual(['task_group']);
      expect(r.body.task_group).toMatch(new RegExp(`^${API}task-groups/${UUID}/$`));
      const groupId = idOf(r.body.task_group);
      const group = await api('GET', r.body.task_group);
      expect(group.status).toBe(200);
      expect(group.body).toMatchObject({ description: `Import of ${body.path}`, all_tasks_dispatched: false, waiting: 1 });
      expect(group.body.tasks).toHaveLength(1);
      expect(group.body.tasks[0].name).toBe(IMPORT_TASK);

      const task = await taskRow(group.body.tasks[0].pulp_href);
      expect(task.task_group_id).toBe(groupId);
      expect(task.exclusive_resources).toEqual([importer.pulp_href]);
      expect(task.shared_resources).toEqual([]);
      const imports = await api('GET', `${importer.pulp_href}imports/`);
      expect(imports.body.count).toBe(1);
      const imp = imports.body.results[0];
      expect(keys(imp)).toEqual(IMPORT_FIELDS);
      expect(imp).toEqual({
        pulp_href: expect.stringMatching(new RegExp(`^${importer.pulp_href}imports/${UUID}/$`)),
        prn: `prn:core.pulpimport:${idOf(imp.pulp_href)}`,
        pulp_created: expect.any(String),
        pulp_last_updated: expect.any(String),
        task: group.body.tasks[0].pulp_href,
        params: body,
        task_group: r.body.task_group,
        report: null,
      });
      const expected: ImportTaskPayload = {
        importer_id: idOf(importer.pulp_href),
        import_id: idOf(imp.pulp_href),
        path: path.join(importRoot, 'export.tar'), // the symlink resolved
        toc: null,
        create_repositories: false,
        dry_run: false,
        task_group_id: groupId,
      };
      expect(task.args).toEqual(expected);
      expect((await api('GET', imp.pulp_href)).body).toEqual(imp);

      const toc = await post({ toc: path.join(importRoot, 'export-toc.json'), create_repositories: true, dry_run: true });
      expect(toc.status).toBe(202);
      const tocTask = await t.platform.db.one<{ args: ImportTaskPayload }>('SELECT args FROM core_task WHERE task_group_id = $1', [idOf(toc.body.task_group)]);
      expect(tocTask!.args).toMatchObject({ path: null, toc: path.join(importRoot, 'export-toc.json'), create_repositories: true, dry_run: true });

      expect((await api('DELETE', imp.pulp_href)).status).toBe(204);
      expect((await api('GET', imp.pulp_href)).status).toBe(404);
      // A task holds the importer: it cannot be deleted now.
      expect((await api('DELETE', importer.pulp_href)).status).toBe(409);
    });

    it('refuses bad import requests with 400s and creates nothing', async () => {
      const before = (await t.platform.db.one<{ n: string }>('SELECT count(*) AS n FROM core_taskgroup'))!.n;
      const expect400 = async (body: unknown, expected: unknown, href?: string) => {
        const r = await post(body, href);
        expect(r.status).toBe(400);
        expect(r.body).toEqual(expected);
      };
      const tar = path.join(importRoot, 'export.tar');
      await expect400({ path: tar, toc: tar }, { non_field_errors: ["Only one of 'path' and 'toc' may be specified."] });
      await expect400({}, { non_field_errors: ["One of 'path' or 'toc' must be specified."] });
      await expect400({ path: '' }, { non_field_errors: ["One of 'path' or 'toc' must be specified."] });
      await expect400({ path: 'export.tar' }, { path: ["'export.tar' is not an absolute path."] });
      await expect400({ path: path.join(outside, 'secret.tar') }, { path: [`'${path.join(outside, 'secret.tar')}' is not an allowed import path; allowed: ${importRoot}.`] });
      await expect400({ toc: path.join(importRoot, 'escape.tar') }, { toc: [`'${path.join(importRoot, 'escape.tar')}' is not an allowed import path; allowed: ${importRoot}.`] });
      await expect400({ path: `${importRoot}/../outside/secret.tar` }, { path: [`'${importRoot}/../outside/secret.tar' is not an allowed import path; allowed: ${importRoot}.`] });
      await expect400({ path: path.join(importRoot, 'nope.tar') }, { path: [`file ${path.join(importRoot, 'nope.tar')} does not exist`] });
      await expect400({ path: path.join(importRoot, 'adir') }, { path: [`${path.join(importRoot, 'adir')} is not a file`] });
      await expect400({ path: tar, create_repositories: 'yes' }, { create_repositories: ['create_repositories must be a boolean value'] });
      const mapped = (await api('POST', IMPORTERS, { name: 'im-mapped', repo_mapping: { up: 'ie-alpha' } })).body;
      await expect400({ path: tar, create_repositories: true }, { non_field_errors: ["The option 'create_repositories' is not compatible with 'repo_mapping'."] }, mapped.pulp_href);
      expect((await post({ path: tar, create_repositories: false }, mapped.pulp_href)).status).toBe(202);
      expect((await post({ path: tar }, `${IMPORTERS}${uuid7()}/`)).status).toBe(404);
      const after = (await t.platform.db.one<{ n: string }>('SELECT count(*) AS n FROM core_taskgroup'))!.n;
      expect(Number(after)).toBe(Number(before) + 1); // only the accepted request made a group
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('import-check', () => {
    const check = (body: unknown) => api('POST', `${IMPORTERS}import-check/`, body);

    it('answers each supplied field with context, is_valid and messages', async () => {
      const tar = path.join(importRoot, 'export.tar');
      const ok = await check({ path: tar });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ path: { context: tar, is_valid: true, messages: [] } });

      const all = await check({ path: path.join(importRoot, 'adir'), toc: path.join(outside, 'secret.tar'), repo_mapping: '{"a": "b"}' });
      expect(all.status).toBe(200);
      expect(all.body).toEqual({
        path: { context: path.join(importRoot, 'adir'), is_valid: false, messages: [`${path.join(importRoot, 'adir')} is not a file`] },
        // Not allowed: nothing else is looked at.
        toc: { context: path.join(outside, 'secret.tar'), is_valid: false, messages: [`'${path.join(outside, 'secret.tar')}' is not an allowed import path; allowed: ${importRoot}.`] },
        repo_mapping: { context: '{"a": "b"}', is_valid: true, messages: [] },
      });

      const missing = await check({ toc: path.join(importRoot, 'nope-toc.json'), path: path.join(importRoot, 'no-dir', 'x.tar') });
      expect(missing.body).toEqual({
        toc: { context: path.join(importRoot, 'nope-toc.json'), is_valid: false, messages: [`file ${path.join(importRoot, 'nope-toc.json')} does not exist`] },
        path: { context: path.join(importRoot, 'no-dir', 'x.tar'), is_valid: false, messages: [`directory ${path.join(importRoot, 'no-dir')} does not exist`] },
      });
      expect((await check({ path: 'rel.tar' })).body).toEqual({ path: { context: 'rel.tar', is_valid: false, messages: ["'rel.tar' is not an absolute path."] } });
      expect((await check({ path: path.join(importRoot, 'escape.tar') })).body.path.is_valid).toBe(false);
    });

    it('reports unreadable files', async () => {
      if (process.getuid?.() === 0) return; // root reads everything
      const locked = path.join(importRoot, 'locked.tar');
      writeFileSync(locked, 'x');
      chmodSync(locked, 0o000);
      expect((await check({ path: locked })).body.path).toEqual({ context: locked, is_valid: false, messages: [`${locked} exists but cannot be read`] });
    });

    it('checks repo_mapping as a JSON string of an object of strings', async () => {
      expect((await check({ repo_mapping: '{bad' })).body).toEqual({ repo_mapping: { context: '{bad', is_valid: false, messages: ['invalid JSON'] } });
      for (const v of ['["a"]', '{"a": 1}', '"a"', 'null']) {
        const r = await check({ repo_mapping: v });
        expect(r.body.repo_mapping.is_valid).toBe(false);
        expect(r.body.repo_mapping.messages).toHaveLength(1);
      }
      expect((await check({ repo_mapping: { a: 'b' } })).status).toBe(400);
      const none = await check({});
      expect(none.status).toBe(400);
      expect(none.body).toEqual({ non_field_errors: ["One of 'path', 'toc', or 'repo_mapping' must be specified."] });
    });
  });

  it('documents every operation with Pulp operationIds and href parameters', async () => {
    const doc = (await t.api('GET', `${API}docs/api.json`, { auth: false })).body;
    const op = (p: string, m: string) => doc.paths[p]?.[m]?.operationId;
    expect(op(EXPORTERS, 'get')).toBe('exporters_core_pulp_list');
    expect(op(EXPORTERS, 'post')).toBe('exporters_core_pulp_create');
    expect(op('{pulp_exporter_href}', 'get')).toBe('exporters_core_pulp_read');
    expect(op('{pulp_exporter_href}', 'put')).toBe('exporters_core_pulp_update');
    expect(op('{pulp_exporter_href}', 'patch')).toBe('exporters_core_pulp_partial_update');
    expect(op('{pulp_exporter_href}', 'delete')).toBe('exporters_core_pulp_delete');
    expect(op('{pulp_exporter_href}exports/', 'get')).toBe('exporters_core_pulp_exports_list');
    expect(op('{pulp_exporter_href}exports/', 'post')).toBe('exporters_core_pulp_exports_create');
    expect(op('{pulp_pulp_export_href}', 'get')).toBe('exporters_core_pulp_exports_read');
    expect(op('{pulp_pulp_export_href}', 'delete')).toBe('exporters_core_pulp_exports_delete');
    expect(op(IMPORTERS, 'get')).toBe('importers_core_pulp_list');
    expect(op(IMPORTERS, 'post')).toBe('importers_core_pulp_create');
    expect(op('{pulp_importer_href}', 'get')).toBe('importers_core_pulp_read');
    expect(op('{pulp_importer_href}', 'put')).toBe('importers_core_pulp_update');
    expect(op('{pulp_importer_href}', 'patch')).toBe('importers_core_pulp_partial_update');
    expect(op('{pulp_importer_href}', 'delete')).toBe('importers_core_pulp_delete');
    expect(op('{pulp_importer_href}imports/', 'get')).toBe('importers_core_pulp_imports_list');
    expect(op('{pulp_importer_href}imports/', 'post')).toBe('importers_core_pulp_imports_create');
    expect(op('{pulp_pulp_import_href}', 'get')).toBe('importers_core_pulp_imports_read');
    expect(op('{pulp_pulp_import_href}', 'delete')).toBe('importers_core_pulp_imports_delete');
    expect(op(`${IMPORTERS}import-check/`, 'post')).toBe('pulp_import_check_post');
    expect(doc.paths['{pulp_importer_href}imports/'].post.responses['202'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TaskGroupOperationResponse' });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['PulpExporter', 'PatchedPulpExporter', 'PulpExport', 'PulpImporter', 'PatchedPulpImporter', 'PulpImport', 'PulpImportCheck']));
    expect(doc.components.schemas.PulpExporter.required).toEqual(['name', 'path', 'repositories']);
    expect(lintOpenApi(doc)).toEqual([]);
  });
});
