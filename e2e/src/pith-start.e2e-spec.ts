import { Client } from 'pg';
import { runPith, startPith, type PithInstance } from './pith-process';

const auth = 'Basic ' + Buffer.from('admin:e2e-password').toString('base64');

describe('pith processes (e2e)', () => {
  let pith: PithInstance;
  beforeAll(async () => {
    pith = await startPith();
  });
  afterAll(async () => {
    await pith?.stop('SIGKILL');
    await pith?.dropDatabase();
  });

  it('`pith start` runs the API, the content app and the workers, all visible in status', async () => {
    let status: any;
    const deadline = Date.now() + 30_000;
    do {
      const r = await fetch(`${pith.apiUrl}/pulp/api/v3/status/`);
      expect(r.headers.get('content-type')).toBe('application/json');
      status = await r.json();
      if (status.online_workers.length === 2 && status.online_content_apps.length === 1) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < deadline);
    expect(status.online_workers).toHaveLength(2);
    expect(status.online_api_apps.length).toBeGreaterThanOrEqual(1);
    expect(status.online_content_apps).toHaveLength(1);
    expect(status.database_connection).toEqual({ connected: true });
    const content = await fetch(`${pith.contentUrl}/pulp/content/`);
    expect(content.status).toBe(200);
  });

  it('serves the API with Basic auth and rejects wrong credentials with JSON 401', async () => {
    const ok = await fetch(`${pith.apiUrl}/pulp/api/v3/tasks/`, { headers: { Authorization: auth } });
    expect(ok.status).toBe(200);
    const bad = await fetch(`${pith.apiUrl}/pulp/api/v3/tasks/`, { headers: { Authorization: 'Basic ' + Buffer.from('admin:nope').toString('base64') } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toHaveProperty('detail');
  });

  it('`pith reset-admin-password` changes the password used by the running API', async () => {
    const r = await runPith(['reset-admin-password', '--password', 'changed-pw'], { ...pith.env, PITH_ADMIN_PASSWORD: '' });
    expect(r.code).toBe(0);
    // The API caches verified credentials briefly; a new header is verified against the new hash.
    const fresh = await fetch(`${pith.apiUrl}/pulp/api/v3/tasks/`, { headers: { Authorization: 'Basic ' + Buffer.from('admin:changed-pw').toString('base64') } });
    expect(fresh.status).toBe(200);
  });

  it('shuts down cleanly on SIGTERM (exit 0, workers deregistered)', async () => {
    const code = await pith.stop('SIGTERM');
    expect(code).toBe(0);
    const c = new Client({ connectionString: pith.env.DATABASE_URL });
    await c.connect();
    const left = await c.query('SELECT name, app_type FROM core_appstatus');
    await c.end();
    expect(left.rows).toEqual([]);
  });
});

describe('pith preflight', () => {
  it('exits non-zero with one line naming an unreachable PostgreSQL', async () => {
    const r = await runPith(['api'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nope' });
    expect(r.code).not.toBe(0);
    expect(r.output.trim().split('\n')).toHaveLength(1);
    expect(r.output).toMatch(/cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/nope.*start PostgreSQL/);
  });

  it('exits non-zero with one line naming an unreachable Redis', async () => {
    const r = await runPith(['worker'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).not.toBe(0);
    expect(r.output.trim().split('\n')).toHaveLength(1);
    expect(r.output).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*start Redis/);
  });

  it('rejects invalid configuration with the key named', async () => {
    const r = await runPith(['api'], { PITH_API_PORT: 'abc' });
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/PITH_API_PORT/);
  });
});
