import { parse as parseYaml } from 'yaml';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { lintOpenApi } from '../openapi/openapi-lint';
import { StatusService } from './status.service';
import { Db } from '../db/db';
import { createDataSource } from '../db/data-source';
import { loadConfig } from '../config/pith-config';
import { uuid7 } from '../util/uuid7';

describe('docs/api.json, status/, livez/', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    // No workers needed: worker listing is checked with heartbeat rows below.
    t = await startTestPlatform({ workers: 0 });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('serves the OpenAPI document anonymously as exactly application/json', async () => {
    const r = await t.api('GET', '/pulp/api/v3/docs/api.json', { auth: false, headers: { Accept: 'application/json' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('correlation-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(r.body.openapi).toBe('3.1.1');
    expect(lintOpenApi(r.body)).toEqual([]);
    expect(r.body.paths['/pulp/api/v3/status/'].get.operationId).toBe('status_read');
    // A wrong Authorization header does not lock the client out of an anonymous document.
    const bad = await t.api('GET', '/pulp/api/v3/docs/api.json', { auth: false, headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
    expect(bad.status).toBe(200);
    expect(bad.text).toBe(r.text);
  });

  it('serves the same document as YAML', async () => {
    const json = await t.api('GET', '/pulp/api/v3/docs/api.json', { auth: false });
    const r = await t.api('GET', '/pulp/api/v3/docs/api.yaml', { auth: false });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/yaml');
    expect(parseYaml(r.text)).toEqual(json.body);
  });

  it('reports status anonymously with versions equal to x-pulp-app-versions', async () => {
    const doc = (await t.api('GET', '/pulp/api/v3/docs/api.json', { auth: false })).body;
    const r = await t.api('GET', '/pulp/api/v3/status/', { auth: false });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const advertised = doc.info['x-pulp-app-versions'];
    expect(Object.fromEntries(r.body.versions.map((v: { component: string; version: string }) => [v.component, v.version]))).toEqual(advertised);
    expect(r.body.versions.map((v: { component: string }) => v.component)).toEqual(Object.keys(advertised));
    expect(r.body.versions[0]).toEqual({ component: 'core', version: advertised.core, package: 'pulpcore', module: 'pulpcore.app', domain_compatible: true });
    expect(r.body.database_connection).toEqual({ connected: true });
    expect(r.body.redis_connection).toEqual({ connected: true });
    expect(r.body.domain_enabled).toBe(false);
    expect(r.body.content_settings).toEqual({ content_origin: null, content_path_prefix: '/pulp/content/' });
    const { total, used, free } = r.body.storage;
    expect(total).toBeGreaterThan(0);
    expect(used).toBeGreaterThanOrEqual(0);
    expect(free).toBeGreaterThanOrEqual(0);
    expect(free).toBeLessThanOrEqual(total);
    // This process's API heartbeat.
    expect(r.body.online_api_apps.length).toBeGreaterThanOrEqual(1);
    expect(r.body.online_api_apps[0]).toEqual({ name: expect.any(String), last_heartbeat: expect.any(String), versions: advertised });
    expect(Array.isArray(r.body.online_workers)).toBe(true);
    expect(r.body.online_content_apps).toEqual([]);
  });

  it('accepts Basic credentials on status (pulp-cli 0.38 always sends them)', async () => {
    const r = await t.api('GET', '/pulp/api/v3/status/');
    expect(r.status).toBe(200);
  });

  it('lists only processes whose heartbeat is within their ttl', async () => {
    const name = `stale-worker-${uuid7()}`;
    await t.platform.db.query(
      `INSERT INTO core_appstatus (pulp_id, name, app_type, last_heartbeat, versions, ttl)
       VALUES ($1, $2, 'worker', now() - interval '10 minutes', '{}', 30)`,
      [uuid7(), name],
    );
    const r = await t.api('GET', '/pulp/api/v3/status/', { auth: false });
    expect(r.body.online_workers.map((w: { name: string }) => w.name)).not.toContain(name);
    await t.platform.db.query(`UPDATE core_appstatus SET ttl = 3600 WHERE name = $1`, [name]);
    const r2 = await t.api('GET', '/pulp/api/v3/status/', { auth: false });
    expect(r2.body.online_workers.map((w: { name: string }) => w.name)).toContain(name);
    await t.platform.db.query('DELETE FROM core_appstatus WHERE name = $1', [name]);
  });

  it('answers livez anonymously with 200', async () => {
    const r = await t.api('GET', '/pulp/api/v3/livez/', { auth: false });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  it('reports an unreachable database or Redis as connected=false instead of failing', async () => {
    const config = loadConfig({ ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nope', REDIS_URL: 'redis://127.0.0.1:1', PITH_MEDIA_ROOT: '/nonexistent/pith/media' });
    const ds = createDataSource(config.DATABASE_URL, []); // never initialized: every query fails
    const s = new StatusService(config, new Db(ds), t.platform.registry, t.platform.logger);
    try {
      const started = Date.now();
      const r = await s.report('3.90.0');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r.database_connection).toEqual({ connected: false });
      expect(r.redis_connection).toEqual({ connected: false });
      expect(r.online_workers).toEqual([]);
      // The closest existing parent of the media root still has a size.
      expect(r.storage.total).toBeGreaterThan(0);
      expect(r.versions.length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
