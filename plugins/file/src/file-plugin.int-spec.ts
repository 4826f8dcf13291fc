import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import filePlugin from './index';

const A = '/pulp/api/v3/';

/** Contract test: the platform booted with only this plugin. */
describe('file plugin contract', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [filePlugin], workers: 0 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('applies its migrations', async () => {
    const applied = await t.platform.db.query<{ name: string }>('SELECT name FROM pith_migrations');
    expect(applied.map((r) => r.name)).toContain('FileInitial1763800000000');
    const tables = await t.platform.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'file\\_%' ORDER BY 1",
    );
    expect(tables.map((r) => r.table_name)).toEqual(['file_filecontent', 'file_filepublication', 'file_fileremote', 'file_filerepository']);
  });

  it('has the natural-key unique index and cascading detail pointers', async () => {
    const idx = await t.platform.db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'file_filecontent' AND indexname = 'file_filecontent_natural_key'",
    );
    expect(idx[0]?.indexdef).toMatch(/UNIQUE INDEX .* \(relative_path, digest\)/);
    const fks = await t.platform.db.query<{ tbl: string; def: string }>(
      `SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text LIKE 'file\\_%' ORDER BY 1`,
    );
    expect(fks).toEqual([
      { tbl: 'file_filecontent', def: 'FOREIGN KEY (content_ptr_id) REFERENCES core_content(pulp_id) ON DELETE CASCADE' },
      { tbl: 'file_filepublication', def: 'FOREIGN KEY (publication_ptr_id) REFERENCES core_publication(pulp_id) ON DELETE CASCADE' },
      { tbl: 'file_fileremote', def: 'FOREIGN KEY (remote_ptr_id) REFERENCES core_remote(pulp_id) ON DELETE CASCADE' },
      { tbl: 'file_filerepository', def: 'FOREIGN KEY (repository_ptr_id) REFERENCES core_repository(pulp_id) ON DELETE CASCADE' },
    ]);
  });

  it.each(['repositories/file/file/', 'remotes/file/file/', 'content/file/files/', 'publications/file/file/', 'distributions/file/file/'])(
    'routes %s',
    async (path) => {
      const r = await t.api('GET', `${A}${path}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ count: 0, next: null, previous: null, results: [] });
    },
  );

  it('routes sync and content create, and documents them', async () => {
    const doc = await t.api('GET', `${A}docs/api.json`, { auth: false });
    expect(doc.status).toBe(200);
    const ops = new Set<string>();
    for (const item of Object.values(doc.body.paths as Record<string, Record<string, { operationId?: string }>>)) {
      for (const op of Object.values(item)) if (op?.operationId) ops.add(op.operationId);
    }
    for (const id of [
      'repositories_file_file_sync', 'repositories_file_file_modify', 'content_file_files_create', 'content_file_files_list',
      'remotes_file_file_create', 'publications_file_file_create', 'distributions_file_file_create',
    ]) expect(ops).toContain(id);
    expect(doc.body.info['x-pulp-app-versions']).toMatchObject({ file: '3.90.0' });
  });

  it('registers its tasks', () => {
    expect([...t.platform.registry.tasks.keys()]).toEqual(expect.arrayContaining(['file.sync', 'file.publish']));
  });

  it('advertises itself in status', async () => {
    const r = await t.api('GET', `${A}status/`, { auth: false });
    expect(r.body.versions).toEqual(expect.arrayContaining([expect.objectContaining({ component: 'file', version: '3.90.0', package: 'pulp-file' })]));
  });
});
