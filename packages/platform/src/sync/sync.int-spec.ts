import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { definePlugin, type DeclarativeContent, type TaskContext } from '@pith/plugin-api';
import { startTestPlatform, testPlugin, type TestPlatform } from '@pith/test-utils';
import { IN_VERSION } from '../repositories/version.service';
import { SYNC_BATCH } from './sync-pipeline';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const REMOTES = '/pulp/api/v3/remotes/test/thing/';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface SyncArgs {
  repository_id: string;
  remote_id: string;
  mirror?: boolean;
  /** Yield this many synthetic deferred units instead of reading the remote's MANIFEST. */
  generate?: number;
  /** Yield exactly these units. */
  units?: DeclarativeContent[];
}

async function* listStage(units: DeclarativeContent[]): AsyncGenerator<DeclarativeContent> {
  yield* units;
}

/** First stage: the remote's `MANIFEST` (`name,sha256,size` lines), read through the downloader. */
async function* manifestStage(ctx: TaskContext, remoteUrl: string, deferred: boolean, open: () => Promise<NodeJS.ReadableStream>): AsyncGenerator<DeclarativeContent> {
  void remoteUrl;
  const lines = createInterface({ input: (await open()) as NodeJS.ReadableStream & AsyncIterable<Buffer> });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const [name, digest, size] = line.split(',');
    ctx.throwIfCanceled();
    yield {
      pulpType: 'test.thing',
      detail: { name, sha256: digest },
      artifacts: [{ url: name!, relativePath: name!, expected: { sha256: digest, size: Number(size) }, deferred }],
    };
  }
}

/** Live heap (after a full GC) sampled by the generated stage at fixed points of the stream. */
const heapSamples: Array<{ at: number; mb: number }> = [];
let gc: (() => void) | null = null;
function liveHeapMb(): number {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function* generatedStage(n: number): AsyncGenerator<DeclarativeContent> {
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % (n / 5) === 0) heapSamples.push({ at: i, mb: liveHeapMb() });
    const name = `gen/${i.toString().padStart(7, '0')}.bin`;
    const digest = sha256(name);
    yield {
      pulpType: 'test.thing',
      detail: { name, sha256: digest },
      artifacts: [{ url: name, relativePath: name, expected: { sha256: digest, size: 1000 + i }, deferred: true }],
    };
  }
}

const syncPlugin = definePlugin({
  ...testPlugin,
  tasks: [
    ...(testPlugin.tasks ?? []),
    {
      name: 'test.sync',
      resources: (p: SyncArgs) => ({ exclusive: [`pdrn:test:repo:${p.repository_id}`], shared: [`pdrn:test:remote:${p.remote_id}`] }),
      async run(ctx: TaskContext, p: SyncArgs) {
        const remote = await ctx.sync.remote(p.remote_id);
        const deferred = remote.policy !== 'immediate';
        const stage = p.units
          ? listStage(p.units)
          : p.generate
          ? generatedStage(p.generate)
          : manifestStage(ctx, remote.url, deferred, () => ctx.sync.downloader(remote).open('MANIFEST', ctx.signal));
        const stats = await ctx.sync.run({ repositoryId: p.repository_id, remote, mirror: !!p.mirror, signal: ctx.signal }, stage);
        return {
          version: stats.version?.number ?? null,
          seen: stats.contentSeen,
          downloaded: stats.artifactsDownloaded,
          added: stats.contentAdded,
          removed: stats.contentRemoved,
        };
      },
    },
  ],
});

/** An upstream on 127.0.0.1: files, a MANIFEST, scripted failures, request and concurrency counts. */
class Upstream {
  readonly files = new Map<string, Buffer>();
  /** Status codes to answer (in order) before serving a path normally. */
  readonly faults = new Map<string, number[]>();
  /** Paths served with wrong bytes of the right length. */
  readonly corrupt = new Set<string>();
  readonly hits = new Map<string, number>();
  delayMs = 0;
  active = 0;
  maxActive = 0;
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/repo/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  put(name: string, data: Buffer = randomBytes(100 + Math.floor(Math.random() * 5000))): Buffer {
    this.files.set(name, data);
    return data;
  }

  hitsOf(name: string): number {
    return this.hits.get(name) ?? 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/repo\//, ''));
    this.hits.set(name, this.hitsOf(name) + 1);
    if (name === 'MANIFEST') {
      const body = [...this.files].map(([n, b]) => `${n},${sha256(b)},${b.length}`).join('\n') + '\n';
      res.end(body);
      return;
    }
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const fault = this.faults.get(name)?.shift();
      if (fault) {
        res.writeHead(fault, fault === 429 ? { 'retry-after': '0' } : {});
        res.end('nope');
        return;
      }
      const data = this.files.get(name);
      if (!data) {
        res.writeHead(404);
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': data.length });
      res.end(this.corrupt.has(name) ? Buffer.alloc(data.length, 0x5a) : data);
    } finally {
      this.active--;
    }
  }
}

describe('sync pipeline', () => {
  let t: TestPlatform;
  let up: Upstream;

  beforeAll(async () => {
    t = await startTestPlatform({ plugins: [syncPlugin] });
    up = new Upstream();
    await up.start();
  });
  afterAll(async () => {
    await up?.stop();
    await t?.stop();
  });

  async function newRepo(): Promise<string> {
    const r = await t.api('POST', REPOS, { body: { name: `repo-${randomBytes(4).toString('hex')}` } });
    expect(r.status).toBe(201);
    return r.body.pulp_href.split('/')[7];
  }

  async function newRemote(body: Record<string, unknown> = {}): Promise<string> {
    const r = await t.api('POST', REMOTES, { body: { name: `remote-${randomBytes(4).toString('hex')}`, url: up.url, ...body } });
    expect(r.status).toBe(201);
    return r.body.pulp_href.split('/')[7];
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function sync(args: SyncArgs): Promise<any> {
    const task = await t.platform.tasks.dispatch({
      name: 'test.sync',
      payload: args,
      exclusive: [`pdrn:test:repo:${args.repository_id}`],
      shared: [`pdrn:test:remote:${args.remote_id}`],
    });
    return t.waitTask(task.href, 90_000);
  }

  async function members(repoId: string, n: number): Promise<Array<{ name: string; sha256: string }>> {
    return t.platform.db.query(
      `SELECT d.name, d.sha256 FROM core_repositorycontent rc JOIN test_thing d ON d.content_ptr_id = rc.content_id
        WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2')} ORDER BY d.name`,
      [repoId, n],
    );
  }

  async function latest(repoId: string): Promise<number> {
    const r = await t.platform.db.one<{ n: number }>('SELECT max(number) AS n FROM core_repositoryversion WHERE repository_id = $1 AND complete', [repoId]);
    return Number(r!.n);
  }

  function tmpFiles(): string[] {
    return readdirSync(path.join(t.mediaRoot, 'tmp'));
  }

  function reset(): void {
    up.files.clear();
    up.faults.clear();
    up.corrupt.clear();
    up.hits.clear();
    up.delayMs = 0;
    up.maxActive = 0;
  }

  it('downloads, verifies and stores artifacts, then reuses them', async () => {
    reset();
    const names = Array.from({ length: 25 }, (_, i) => `dir/file-${i}.bin`);
    for (const n of names) up.put(n);
    const repo = await newRepo();
    const remote = await newRemote();

    const task = await sync({ repository_id: repo, remote_id: remote });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ version: 1, seen: 25, downloaded: 25, added: 25, removed: 0 });
    expect(task.created_resources).toEqual([`/pulp/api/v3/repositories/test/thing/${repo}/versions/1/`]);
    const reports = Object.fromEntries(task.progress_reports.map((r: { code: string }) => [r.code, r]));
    expect(reports['sync.downloading.artifacts']).toMatchObject({ message: 'Downloading Artifacts', done: 25, total: null, state: 'completed' });
    expect(reports['associating.content']).toMatchObject({ message: 'Associating Content', done: 25, state: 'completed' });
    expect(reports['unassociating.content']).toBeUndefined();

    expect((await members(repo, 1)).map((m) => m.name)).toEqual([...names].sort());
    // Every stored file holds exactly the upstream bytes.
    for (const n of names) {
      const digest = sha256(up.files.get(n)!);
      const a = await t.platform.db.one<{ file: string; size: string }>('SELECT file, size FROM core_artifact WHERE sha256 = $1', [digest]);
      expect(a).toBeDefined();
      expect(sha256(readFileSync(path.join(t.mediaRoot, a!.file)))).toBe(digest);
      expect(Number(a!.size)).toBe(up.files.get(n)!.length);
    }
    const cas = await t.platform.db.query(
      `SELECT ca.artifact_id, ra.url, ra.size, ra.sha256, ca.relative_path FROM core_contentartifact ca
         JOIN test_thing d ON d.content_ptr_id = ca.content_id
         JOIN core_remoteartifact ra ON ra.content_artifact_id = ca.pulp_id AND ra.remote_id = $1
        WHERE d.name = ANY($2)`,
      [remote, names],
    );
    expect(cas).toHaveLength(25);
    for (const c of cas) {
      expect(c.artifact_id).not.toBeNull();
      expect(c.url).toBe(up.url + c.relative_path);
      expect(c.sha256).toBe(sha256(up.files.get(c.relative_path)!));
      expect(Number(c.size)).toBe(up.files.get(c.relative_path)!.length);
    }
    expect(tmpFiles()).toEqual([]);

    // Same upstream again: nothing downloaded, no new version.
    up.hits.clear();
    const again = await sync({ repository_id: repo, remote_id: remote });
    expect(again.state).toBe('completed');
    expect(again.result).toMatchObject({ version: null, seen: 25, downloaded: 0, added: 0 });
    expect(await latest(repo)).toBe(1);
    expect(names.every((n) => up.hitsOf(n) === 0)).toBe(true);

    // A second repository with the same content: artifacts found by digest, not fetched.
    const repo2 = await newRepo();
    const other = await sync({ repository_id: repo2, remote_id: remote });
    expect(other.result).toMatchObject({ version: 1, downloaded: 0, added: 25 });
    expect(names.every((n) => up.hitsOf(n) === 0)).toBe(true);
  });

  it('adds new units additively and removes vanished ones only when mirroring', async () => {
    reset();
    for (let i = 0; i < 10; i++) up.put(`m/${i}`);
    const repo = await newRepo();
    const remote = await newRemote();
    expect((await sync({ repository_id: repo, remote_id: remote, mirror: true })).result).toMatchObject({ version: 1, added: 10 });

    up.files.delete('m/3');
    up.files.delete('m/7');
    up.put('m/new');
    up.hits.clear();
    const additive = await sync({ repository_id: repo, remote_id: remote });
    expect(additive.result).toMatchObject({ version: 2, downloaded: 1, added: 1, removed: 0 });
    expect(await members(repo, 2)).toHaveLength(11);
    expect(up.hitsOf('m/0')).toBe(0);

    const mirror = await sync({ repository_id: repo, remote_id: remote, mirror: true });
    expect(mirror.state).toBe('completed');
    expect(mirror.result).toMatchObject({ version: 3, downloaded: 0, added: 0, removed: 2 });
    const un = mirror.progress_reports.find((r: { code: string }) => r.code === 'unassociating.content');
    expect(un).toMatchObject({ message: 'Un-Associating Content', done: 2 });
    expect((await members(repo, 3)).map((m) => m.name)).toEqual(['m/0', 'm/1', 'm/2', 'm/4', 'm/5', 'm/6', 'm/8', 'm/9', 'm/new']);
    // Version 2 is untouched by the mirror.
    expect(await members(repo, 2)).toHaveLength(11);

    // Mirror with nothing changed: no version.
    expect((await sync({ repository_id: repo, remote_id: remote, mirror: true })).result).toMatchObject({ version: null, removed: 0 });
    const seen = await t.platform.db.query('SELECT 1 FROM core_repositoryversion_seen');
    expect(seen).toEqual([]);
  });

  it('re-syncs unchanged units without artifact work, yet touches them and redoes changed ones', async () => {
    reset();
    const names = Array.from({ length: 6 }, (_, i) => `s/${i}`);
    for (const n of names) up.put(n);
    const repo = await newRepo();
    const remote = await newRemote();
    expect((await sync({ repository_id: repo, remote_id: remote, mirror: true })).result).toMatchObject({ version: 1, added: 6 });
    const digests = names.map((n) => sha256(up.files.get(n)!));
    const ids = (await t.platform.db.query<{ id: string }>('SELECT content_ptr_id AS id FROM test_thing WHERE name = ANY($1)', [names])).map((r) => r.id);
    // Long untouched (orphan protection must be renewed), and one remote artifact out of date.
    await t.platform.db.query("UPDATE core_content SET timestamp_of_interest = now() - interval '2 hours' WHERE pulp_id = ANY($1)", [ids]);
    await t.platform.db.query("UPDATE core_artifact SET timestamp_of_interest = now() - interval '2 hours' WHERE sha256 = ANY($1)", [digests]);
    await t.platform.db.query(
      `UPDATE core_remoteartifact ra SET size = ra.size + 1, pulp_last_updated = now() - interval '2 hours'
         FROM core_contentartifact ca WHERE ra.content_artifact_id = ca.pulp_id AND ca.relative_path = 's/0' AND ra.remote_id = $1`,
      [remote],
    );
    await t.platform.db.query(
      `UPDATE core_remoteartifact ra SET pulp_last_updated = now() - interval '2 hours'
         FROM core_contentartifact ca WHERE ra.content_artifact_id = ca.pulp_id AND ca.relative_path <> 's/0' AND ra.remote_id = $1`,
      [remote],
    );
    up.hits.clear();
    const again = await sync({ repository_id: repo, remote_id: remote, mirror: true });
    expect(again.result).toMatchObject({ version: null, seen: 6, downloaded: 0, added: 0, removed: 0 });
    expect(names.every((n) => up.hitsOf(n) === 0)).toBe(true);
    const fresh = "timestamp_of_interest > now() - interval '1 minute'";
    expect(await t.platform.db.query(`SELECT 1 FROM core_content WHERE pulp_id = ANY($1) AND ${fresh}`, [ids])).toHaveLength(6);
    expect(await t.platform.db.query(`SELECT 1 FROM core_artifact WHERE sha256 = ANY($1) AND ${fresh}`, [digests])).toHaveLength(6);
    const ras = await t.platform.db.query<{ p: string; size: string; recent: boolean }>(
      `SELECT ca.relative_path AS p, ra.size, ra.pulp_last_updated > now() - interval '1 minute' AS recent
         FROM core_remoteartifact ra JOIN core_contentartifact ca ON ca.pulp_id = ra.content_artifact_id
        WHERE ra.remote_id = $1 ORDER BY ca.relative_path`,
      [remote],
    );
    // The changed row was rewritten with what upstream declares; the unchanged ones were left alone.
    expect(ras.map((r) => [r.p, Number(r.size), r.recent])).toEqual(names.map((n) => [n, up.files.get(n)!.length, n === 's/0']));

    // Removed from the repository, then offered again: the unit is added back.
    const s2 = up.files.get('s/2')!;
    up.files.delete('s/2');
    expect((await sync({ repository_id: repo, remote_id: remote, mirror: true })).result).toMatchObject({ version: 2, removed: 1 });
    up.put('s/2', s2);
    const back = await sync({ repository_id: repo, remote_id: remote, mirror: true });
    expect(back.result).toMatchObject({ version: 3, downloaded: 0, added: 1, removed: 0 });
    expect((await members(repo, 3)).map((m) => m.name)).toEqual(names);
  });

  it('retries a corrupted file, then fails naming the URL, with no version and no artifact', async () => {
    reset();
    const good = up.put('c/good');
    const bad = up.put('c/bad');
    up.corrupt.add('c/bad');
    const repo = await newRepo();
    const remote = await newRemote({ max_retries: 2 });
    const task = await sync({ repository_id: repo, remote_id: remote });
    expect(task.state).toBe('failed');
    expect(task.error.description).toContain(`${up.url}c/bad`);
    expect(task.error.description).toContain('sha256 checksum mismatch');
    expect(task.error.description).toContain('after 3 attempts');
    expect(task.error.traceback).toBeUndefined();
    expect(up.hitsOf('c/bad')).toBe(3);
    expect(await latest(repo)).toBe(0);
    const versions = await t.platform.db.query('SELECT number, complete FROM core_repositoryversion WHERE repository_id = $1', [repo]);
    expect(versions).toEqual([{ number: 0, complete: true }]);
    const stored = await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = ANY($1)', [[sha256(bad), sha256(Buffer.alloc(bad.length, 0x5a))]]);
    expect(stored).toEqual([]);
    void good;
    expect(tmpFiles()).toEqual([]);
    const reports = task.progress_reports.map((r: { state: string }) => r.state);
    expect(reports.every((s: string) => s === 'failed' || s === 'completed')).toBe(true);
  });

  it('retries 429 and 5xx answers and succeeds', async () => {
    reset();
    up.put('r/a');
    up.put('r/b');
    up.faults.set('r/a', [429, 500]);
    up.faults.set('r/b', [503]);
    const repo = await newRepo();
    const remote = await newRemote();
    const task = await sync({ repository_id: repo, remote_id: remote });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ version: 1, downloaded: 2 });
    expect(up.hitsOf('r/a')).toBe(3);
    expect(up.hitsOf('r/b')).toBe(2);
  });

  it('fails at once on 404', async () => {
    reset();
    up.put('n/present');
    up.put('n/missing');
    up.faults.set('n/missing', [404, 404, 404, 404]);
    const repo = await newRepo();
    const remote = await newRemote();
    const task = await sync({ repository_id: repo, remote_id: remote });
    expect(task.state).toBe('failed');
    expect(task.error.description).toBe(`Download of ${up.url}n/missing failed: HTTP 404`);
    expect(up.hitsOf('n/missing')).toBe(1);
    expect(await latest(repo)).toBe(0);
  });

  it('on_demand stores no artifacts but remembers where they are; a later immediate sync fills them in', async () => {
    reset();
    const names = ['d/1', 'd/2', 'd/3'];
    for (const n of names) up.put(n);
    const repo = await newRepo();
    const lazy = await newRemote({ policy: 'on_demand' });
    const task = await sync({ repository_id: repo, remote_id: lazy });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ version: 1, downloaded: 0, added: 3 });
    expect(names.every((n) => up.hitsOf(n) === 0)).toBe(true);
    const digests = names.map((n) => sha256(up.files.get(n)!));
    expect(await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = ANY($1)', [digests])).toEqual([]);
    const rows = await t.platform.db.query<{ artifact_id: string | null; url: string; sha256: string; size: string }>(
      `SELECT ca.artifact_id, ra.url, ra.sha256, ra.size FROM core_contentartifact ca
         JOIN test_thing d ON d.content_ptr_id = ca.content_id
         JOIN core_remoteartifact ra ON ra.content_artifact_id = ca.pulp_id
        WHERE d.name = ANY($1) AND ra.remote_id = $2`,
      [names, lazy],
    );
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.artifact_id === null && digests.includes(r.sha256) && r.url.startsWith(up.url))).toBe(true);

    const eager = await newRemote({ policy: 'immediate' });
    const now = await sync({ repository_id: repo, remote_id: eager });
    expect(now.state).toBe('completed');
    // Same units (natural key): no new version, but the artifacts are there now.
    expect(now.result).toMatchObject({ version: null, downloaded: 3, added: 0 });
    const filled = await t.platform.db.query<{ artifact_id: string | null; n: string }>(
      `SELECT ca.artifact_id, (SELECT count(*) FROM core_remoteartifact ra WHERE ra.content_artifact_id = ca.pulp_id) AS n
         FROM core_contentartifact ca JOIN test_thing d ON d.content_ptr_id = ca.content_id WHERE d.name = ANY($1)`,
      [names],
    );
    expect(filled).toHaveLength(3);
    expect(filled.every((f) => f.artifact_id !== null && Number(f.n) === 2)).toBe(true);
  });

  it('keeps to download_concurrency', async () => {
    reset();
    for (let i = 0; i < 24; i++) up.put(`k/${i}`);
    up.delayMs = 40;
    const repo = await newRepo();
    const remote = await newRemote({ download_concurrency: 3 });
    const task = await sync({ repository_id: repo, remote_id: remote });
    expect(task.state).toBe('completed');
    expect(up.maxActive).toBeLessThanOrEqual(3);
    expect(up.maxActive).toBeGreaterThanOrEqual(2);

    reset();
    for (let i = 0; i < 24; i++) up.put(`k2/${i}`);
    up.delayMs = 40;
    const wide = await newRemote();
    expect((await sync({ repository_id: repo, remote_id: wide })).state).toBe('completed');
    expect(up.maxActive).toBeLessThanOrEqual(10);
    expect(up.maxActive).toBeGreaterThan(3);
  });

  it('syncs 100k deferred units with flat memory', async () => {
    const repo = await newRepo();
    const remote = await newRemote({ policy: 'on_demand' });
    const started = Date.now();
    heapSamples.length = 0;
    const task = await sync({ repository_id: repo, remote_id: remote, generate: 100_000 });
    expect(task.state).toBe('completed');
    expect(task.result).toMatchObject({ version: 1, seen: 100_000, added: 100_000, downloaded: 0 });
    // Live heap at 20k, 40k, 60k and 80k units: what the pipeline holds must not grow with the
    // stream (holding on to every batch would add ~7 MB per 20k units here).
    expect(heapSamples).toHaveLength(4);
    const growth = heapSamples[3]!.mb - heapSamples[0]!.mb;
    // eslint-disable-next-line no-console
    console.log(`100k deferred units: ${Date.now() - started} ms, live heap ${heapSamples.map((h) => h.mb.toFixed(1)).join(' → ')} MB`);
    expect(growth).toBeLessThan(8);
    const ras = await t.platform.db.one<{ n: string }>('SELECT count(*) AS n FROM core_remoteartifact WHERE remote_id = $1', [remote]);
    expect(Number(ras!.n)).toBe(100_000);
  }, 120_000);

  it('refuses hostile relative paths and malformed digests from upstream', async () => {
    reset();
    const repo = await newRepo();
    const remote = await newRemote();
    const unit = (relativePath: string, expected: Record<string, unknown>): DeclarativeContent => ({
      pulpType: 'test.thing',
      detail: { name: relativePath, sha256: 'a'.repeat(64) },
      artifacts: [{ url: 'x', relativePath, expected: expected as never }],
    });
    for (const [rp, expected, message] of [
      ['../../etc/passwd', { sha256: 'a'.repeat(64) }, "Invalid relative path '../../etc/passwd' declared for x."],
      ['/abs', { sha256: 'a'.repeat(64) }, "Invalid relative path '/abs' declared for x."],
      ['a/./b', { sha256: 'a'.repeat(64) }, "Invalid relative path 'a/./b' declared for x."],
      ['ok', { sha256: 'zz' }, "Invalid sha256 'zz' declared for x."],
      ['ok', { sha256: 'a'.repeat(64), size: -1 }, "Invalid size '-1' declared for x."],
    ] as const) {
      const task = await sync({ repository_id: repo, remote_id: remote, units: [unit(rp, expected)] });
      expect(task.state).toBe('failed');
      expect(task.error.description).toBe(message);
    }
    const alien = await sync({ repository_id: repo, remote_id: remote, units: [{ ...unit('ok', {}), pulpType: 'test.nope' }] });
    expect(alien.error.description).toBe("Unknown content type 'test.nope' in the sync stream.");
    expect(await latest(repo)).toBe(0);
    expect(up.hits.size).toBe(0);
  });

  it('stops downloading at once when the task is canceled', async () => {
    reset();
    for (let i = 0; i < 40; i++) up.put(`slow/${i}`);
    up.delayMs = 150;
    const repo = await newRepo();
    const remote = await newRemote({ download_concurrency: 2 });
    const task = await t.platform.tasks.dispatch({
      name: 'test.sync',
      payload: { repository_id: repo, remote_id: remote },
      exclusive: [`pdrn:test:repo:${repo}`],
      shared: [`pdrn:test:remote:${remote}`],
    });
    await new Promise((r) => setTimeout(r, 700));
    expect((await t.api('PATCH', task.href, { body: { state: 'canceled' } })).status).toBe(200);
    const final = await t.waitTask(task.href);
    expect(final.state).toBe('canceled');
    expect(await latest(repo)).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const hits = [...up.hits.values()].reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, 600));
    expect([...up.hits.values()].reduce((a, b) => a + b, 0)).toBe(hits);
    expect(hits).toBeLessThan(30);
    expect(tmpFiles()).toEqual([]);
  });

  it('discards everything linked so far when a later batch fails', async () => {
    reset();
    const repo = await newRepo();
    const remote = await newRemote({ max_retries: 0 });
    const failing = 2 * SYNC_BATCH + 100;
    const units: DeclarativeContent[] = Array.from({ length: failing + 100 }, (_, i) => {
      const name = `late/${i}`;
      const digest = sha256(name);
      return {
        pulpType: 'test.thing',
        detail: { name, sha256: digest },
        // One immediate unit in the third batch, and upstream does not have it.
        artifacts: [{ url: name, relativePath: name, expected: { sha256: digest }, deferred: i !== failing }],
      };
    });
    const task = await sync({ repository_id: repo, remote_id: remote, units });
    expect(task.state).toBe('failed');
    expect(task.error.description).toBe(`Download of ${up.url}late/${failing} failed: HTTP 404`);
    const rows = await t.platform.db.query('SELECT 1 FROM core_repositorycontent WHERE repository_id = $1', [repo]);
    expect(rows).toEqual([]);
    expect(await t.platform.db.query('SELECT number FROM core_repositoryversion WHERE repository_id = $1', [repo])).toEqual([{ number: 0 }]);

    // The next sync builds version 1 from scratch, with exactly its own units.
    units[failing]!.artifacts[0]!.deferred = true;
    const ok = await sync({ repository_id: repo, remote_id: remote, units: units.slice(0, 700) });
    expect(ok.result).toMatchObject({ version: 1, added: 700 });
    expect(await members(repo, 1)).toHaveLength(700);
  });
});
