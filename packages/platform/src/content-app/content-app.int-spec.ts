import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { createContentServer, type ContentServer } from './content-server';
import { ContentGuardService } from '../distributions/content-guard.service';

const REPOS = '/pulp/api/v3/repositories/test/thing/';
const PUBS = '/pulp/api/v3/publications/test/thing/';
const DISTS = '/pulp/api/v3/distributions/test/thing/';
const DIRECT = '/pulp/api/v3/distributions/test/direct/';
const REMOTES = '/pulp/api/v3/remotes/test/thing/';
const C = '/pulp/content/';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Got {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
}

describe('content app', () => {
  let t: TestPlatform;
  let content: ContentServer;
  let base: string;
  let repo: { pulp_href: string };
  let pubHref: string;
  const big = randomBytes(2 * 1024 * 1024 + 123);
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha'),
    'dir/b.txt': Buffer.from('bravo'),
    'dir/sub/c.txt': Buffer.from('charlie'),
    'big.bin': big,
    'site/index.html': Buffer.from('<h1>hi</h1>'),
    'sp ace/ü.txt': Buffer.from('unicode'),
  };

  async function get(path: string, headers: Record<string, string> = {}, method = 'GET', server = base): Promise<Got> {
    const res = await fetch(server + path, { method, headers, redirect: 'manual' });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
  }

  /** A request sent exactly as written (fetch would normalize `..` and `%2e%2e` away). */
  function rawGet(path: string): Promise<number> {
    const u = new URL(base);
    return new Promise((resolve, reject) => {
      http.get({ host: u.hostname, port: u.port, path }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
  }

  async function thing(path: string, body: Buffer): Promise<string> {
    const a = await t.platform.artifacts.saveStream(Readable.from([body]));
    const [id] = await t.platform.content.saveBatch([
      { pulpType: 'test.thing', detail: { name: path, sha256: a.sha256 }, artifacts: [{ relativePath: path, artifactId: a.pulp_id }] },
    ]);
    return `/pulp/api/v3/content/test/things/${id}/`;
  }

  async function task(r: { status: number; body: { task: string } }) {
    expect(r.status).toBe(202);
    const done = await t.waitTask(r.body.task);
    expect(done.state).toBe('completed');
    return done;
  }

  async function startServer(opts: Parameters<typeof createContentServer>[1] = {}): Promise<{ server: ContentServer; url: string }> {
    const server = await createContentServer(t.platform, { pollIntervalMs: 100, ...opts });
    await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
    return { server, url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` };
  }

  beforeAll(async () => {
    t = await startTestPlatform();
    ({ server: content, url: base } = await startServer());
    repo = (await t.api('POST', REPOS, { body: { name: 'cs-repo' } })).body;
    const hrefs = [];
    for (const [p, b] of Object.entries(files)) hrefs.push(await thing(p, b));
    await task(await t.api('POST', `${repo.pulp_href}modify/`, { body: { add_content_units: hrefs } }));
    pubHref = (await task(await t.api('POST', PUBS, { body: { repository: repo.pulp_href } }))).created_resources[0];
    for (const [name, body] of Object.entries({
      'cs-pub': { base_path: 'cs/pub', publication: pubHref },
      'cs-repo': { base_path: 'cs/repo', repository: repo.pulp_href },
      'cs-empty': { base_path: 'cs/empty' },
      'hidden-one': { base_path: 'hidden-one', publication: pubHref, hidden: true },
    })) {
      expect((await t.api('POST', DISTS, { body: { name, ...body } })).status).toBe(201);
    }
    expect((await t.api('POST', DIRECT, { body: { name: 'cs-direct', base_path: 'cs/direct', repository: repo.pulp_href } })).status).toBe(201);
  });
  afterAll(async () => {
    await content?.stop();
    await t?.stop();
  });

  it('lists distributions at the root and below, redirecting directories without a slash', async () => {
    let r = await get('/pulp/content');
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(C);
    r = await get(C);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.text).toContain('<a href="cs/">cs/</a>');
    expect(r.text).not.toContain('hidden-one');
    r = await get(`${C}cs`);
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(`${C}cs/`);
    r = await get(`${C}cs/`);
    expect(r.text).toMatch(/<a href="\.\.\/">\.\.\/<\/a>/);
    for (const d of ['direct/', 'empty/', 'pub/', 'repo/']) expect(r.text).toContain(`<a href="${d}">${d}</a>`);
    expect((await get(`${C}nothing-here/`)).status).toBe(404);
    expect((await get('/elsewhere')).status).toBe(404);
    expect((await get(`${C}cs/`, {}, 'POST')).status).toBe(405);
  });

  it('serves a publication: nginx-style listings with sizes, files with caching headers, metadata revalidated', async () => {
    let r = await get(`${C}cs/pub`);
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(`${C}cs/pub/`);
    r = await get(`${C}cs/pub/`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('<title>Index of /pulp/content/cs/pub/</title>');
    expect(r.text).toMatch(/<a href="a\.txt">a\.txt<\/a> +\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d +5\n/);
    expect(r.text).toMatch(new RegExp(`<a href="big\\.bin">big\\.bin</a> +\\S+ \\S+ +${big.length}\\n`));
    expect(r.text).toMatch(/<a href="dir\/">dir\/<\/a> +-\n/);
    expect(r.text).toContain('<a href="MANIFEST">MANIFEST</a>');
    expect(r.text).toContain('<a href="sp%20ace/">sp ace/</a>');

    r = await get(`${C}cs/pub/a.txt`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('alpha');
    expect(r.headers.get('etag')).toBe(`"${sha('alpha')}"`);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('content-length')).toBe('5');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('x-pulp-artifact-size')).toBe('5');
    expect(Date.parse(r.headers.get('last-modified')!)).not.toBeNaN();
    const head = await get(`${C}cs/pub/a.txt`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers.get('content-length')).toBe('5');
    expect(head.headers.get('etag')).toBe(r.headers.get('etag'));

    const m = await get(`${C}cs/pub/MANIFEST`);
    expect(m.status).toBe(200);
    expect(m.headers.get('cache-control')).toBe('no-cache');
    expect(m.text).toContain(`a.txt,${sha('alpha')},5\n`);

    const b = await get(`${C}cs/pub/big.bin`);
    expect(b.status).toBe(200);
    expect(b.body.equals(big)).toBe(true);
    expect(b.headers.get('content-length')).toBe(String(big.length));

    expect((await get(`${C}cs/pub/sp%20ace/%C3%BC.txt`)).text).toBe('unicode');
    r = await get(`${C}cs/pub/dir`);
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(`${C}cs/pub/dir/`);
    r = await get(`${C}cs/pub/dir/`);
    expect(r.text).toContain('<a href="b.txt">b.txt</a>');
    expect(r.text).toContain('<a href="sub/">sub/</a>');
    expect((await get(`${C}cs/pub/dir/sub/c.txt`)).text).toBe('charlie');
    expect((await get(`${C}cs/pub/site/`)).text).toBe('<h1>hi</h1>');
  });

  it('answers 404 for unknown paths, traversal attempts and distributions that point at nothing', async () => {
    for (const p of ['cs/pub/nope.txt', 'cs/pub/dir/nope/', 'cs/pub/a.txt/', 'cs/pub/dir/../a.txt', 'cs/pub/%2e%2e/pub/a.txt', 'cs/pub//a.txt', 'cs/pub/./a.txt', 'cs/pub/a%00.txt', 'zzz/a.txt']) {
      expect([p, await rawGet(`${C}${p}`)]).toEqual([p, 404]);
    }
    expect((await get(`${C}cs/pub/%ZZ`)).status).toBe(400);
    const r = await get(`${C}cs/empty/a.txt`);
    expect(r.status).toBe(404);
    expect(r.text).toMatch(/does not point/);
  });

  it('honours Range (206 / 416) and conditional requests (304)', async () => {
    let r = await get(`${C}cs/pub/a.txt`, { Range: 'bytes=1-3' });
    expect(r.status).toBe(206);
    expect(r.text).toBe('lph');
    expect(r.headers.get('content-range')).toBe('bytes 1-3/5');
    expect(r.headers.get('content-length')).toBe('3');
    r = await get(`${C}cs/pub/a.txt`, { Range: 'bytes=-2' });
    expect(r.text).toBe('ha');
    r = await get(`${C}cs/pub/a.txt`, { Range: 'bytes=5-' });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe('bytes */5');
    r = await get(`${C}cs/pub/a.txt`, { Range: 'bytes=0-0,2-3' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('alpha');
    r = await get(`${C}cs/pub/a.txt`, { Range: 'bytes=0-1', 'If-Range': '"stale"' });
    expect(r.status).toBe(200);
    r = await get(`${C}cs/pub/big.bin`, { Range: 'bytes=1048570-1048585' });
    expect(r.status).toBe(206);
    expect(r.body.equals(big.subarray(1048570, 1048586))).toBe(true);
    r = await get(`${C}cs/pub/big.bin`, { Range: `bytes=${big.length - 10}-` });
    expect(r.body.equals(big.subarray(big.length - 10))).toBe(true);

    const first = await get(`${C}cs/pub/a.txt`);
    r = await get(`${C}cs/pub/a.txt`, { 'If-None-Match': first.headers.get('etag')! });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    r = await get(`${C}cs/pub/a.txt`, { 'If-Modified-Since': first.headers.get('last-modified')! });
    expect(r.status).toBe(304);
    r = await get(`${C}cs/pub/a.txt`, { 'If-None-Match': '"other"' });
    expect(r.status).toBe(200);
  });

  it('serves repository-tracking, version-serving and pass-through distributions, following changes', async () => {
    expect((await get(`${C}cs/repo/a.txt`)).text).toBe('alpha');
    expect((await get(`${C}cs/direct/dir/b.txt`)).text).toBe('bravo');
    const listing = await get(`${C}cs/direct/`);
    expect(listing.text).toContain('<a href="a.txt">a.txt</a>');
    expect(listing.text).not.toContain('MANIFEST');
    expect((await get(`${C}cs/direct/dir`)).status).toBe(301);

    // A new version: the direct distribution follows at once, the publication-serving one keeps
    // the last published version until the new one is published.
    const added = await thing('new.txt', Buffer.from('fresh'));
    await task(await t.api('POST', `${repo.pulp_href}modify/`, { body: { add_content_units: [added] } }));
    content.invalidate();
    expect((await get(`${C}cs/direct/new.txt`)).text).toBe('fresh');
    expect((await get(`${C}cs/repo/new.txt`)).status).toBe(404);
    await task(await t.api('POST', PUBS, { body: { repository: repo.pulp_href, pass_through: true } }));
    // Picked up by the poller, without an explicit invalidation.
    await new Promise((r) => setTimeout(r, 400));
    const fresh = await get(`${C}cs/repo/new.txt`);
    expect(fresh.text).toBe('fresh');
    expect((await get(`${C}cs/repo/MANIFEST`)).text).toContain('new.txt,');
    expect((await get(`${C}cs/repo/dir/`)).text).toContain('<a href="b.txt">b.txt</a>');
    expect((await get(`${C}cs/pub/new.txt`)).status).toBe(404);
  });

  it('enforces content guards: header (403 / allowed) and content_redirect signed URLs (valid, expired, tampered)', async () => {
    const hg = (await t.api('POST', '/pulp/api/v3/contentguards/core/header/', { body: { name: 'cs-hg', header_name: 'X-Secret', header_value: 'open sesame' } })).body;
    const rg = (await t.api('POST', '/pulp/api/v3/contentguards/core/content_redirect/', { body: { name: 'cs-rg' } })).body;
    await t.api('POST', DISTS, { body: { name: 'g-header', base_path: 'guard/header', publication: pubHref, content_guard: hg.pulp_href } });
    await t.api('POST', DISTS, { body: { name: 'g-redirect', base_path: 'guard/redirect', publication: pubHref, content_guard: rg.pulp_href } });

    let r = await get(`${C}guard/header/a.txt`);
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/X-Secret/);
    expect((await get(`${C}guard/header/a.txt`, { 'X-Secret': 'wrong' })).status).toBe(403);
    r = await get(`${C}guard/header/a.txt`, { 'X-Secret': 'open sesame' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('alpha');
    expect((await get(`${C}guard/header/`)).status).toBe(403);

    const guards = new ContentGuardService(t.platform);
    const rgId = rg.pulp_href.split('/')[7];
    const path = `${C}guard/redirect/a.txt`;
    expect((await get(path)).status).toBe(403);
    const signed = await guards.preauthenticateUrl(rgId, path);
    expect(signed).toMatch(/\?expires=\d+&validate_token=[0-9a-f]{32}:[0-9a-f]{64}$/);
    r = await get(signed);
    expect(r.status).toBe(200);
    expect(r.text).toBe('alpha');
    const withQuery = await guards.preauthenticateUrl(rgId, `${path}?x=1`);
    expect((await get(withQuery)).status).toBe(200);
    const expired = await guards.preauthenticateUrl(rgId, path, Date.now() - 2 * 3600 * 1000);
    r = await get(expired);
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/expired/);
    expect((await get(signed.replace('a.txt', 'dir/b.txt'))).status).toBe(403);
    expect((await get(signed.replace(/expires=(\d+)/, (_m, n) => `expires=${Number(n) + 100}`))).status).toBe(403);
    expect((await get(signed.replace(/:([0-9a-f])/, (_m, c) => `:${c === '0' ? '1' : '0'}`))).status).toBe(403);
    expect((await get(`${signed}&more=1`)).status).toBe(403);
  });

  it('X-Accel-Redirect mode: resolves and authorizes, then hands the file to nginx', async () => {
    const { server, url } = await startServer({ xAccelRedirect: '/pith-internal/' });
    try {
      const r = await get(`${C}cs/pub/big.bin`, {}, 'GET', url);
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(0);
      const s = sha(big);
      expect(r.headers.get('x-accel-redirect')).toBe(`/pith-internal/artifact/${s.slice(0, 2)}/${s.slice(2)}`);
      expect(r.headers.get('etag')).toBe(`"${s}"`);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await get(`${C}guard/header/a.txt`, {}, 'GET', url)).status).toBe(403);
      expect((await get(`${C}cs/pub/nope`, {}, 'GET', url)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  describe('on-demand and streamed content', () => {
    let upstream: http.Server;
    let upstreamUrl: string;
    const hits: Record<string, number> = {};
    const bodies: Record<string, Buffer> = {};
    let delayMs = 0;

    beforeAll(async () => {
      upstream = http.createServer((req, res) => {
        const name = decodeURIComponent((req.url ?? '').slice(1));
        hits[name] = (hits[name] ?? 0) + 1;
        const body = bodies[name];
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        setTimeout(() => {
          res.writeHead(200, { 'Content-Length': body.length });
          // Two writes with a pause, so a download is observably in progress.
          res.write(body.subarray(0, Math.floor(body.length / 2)));
          setTimeout(() => res.end(body.subarray(Math.floor(body.length / 2))), 50);
        }, delayMs);
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise<void>((r) => upstream.close(() => r()));
    });

    /** A unit with no artifact, only a remote artifact (what an on_demand/streamed sync leaves). */
    async function remoteUnit(policy: string, name: string, body: Buffer, expectedSha = sha(body)): Promise<string> {
      bodies[name] = body;
      const remote = (await t.api('POST', REMOTES, { body: { name: `rem-${name}`, url: upstreamUrl, policy } })).body;
      const [id] = await t.platform.content.saveBatch([
        { pulpType: 'test.thing', detail: { name, sha256: sha(body) }, artifacts: [{ relativePath: name, artifactId: null }] },
      ]);
      const ca = await t.platform.db.one<{ pulp_id: string }>('SELECT pulp_id FROM core_contentartifact WHERE content_id = $1', [id]);
      await t.platform.db.query(
        `INSERT INTO core_remoteartifact (pulp_id, url, size, sha256, content_artifact_id, remote_id) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)`,
        [`${upstreamUrl}${encodeURIComponent(name)}`, body.length, expectedSha, ca!.pulp_id, remote.pulp_href.split('/')[7]],
      );
      return `/pulp/api/v3/content/test/things/${id}/`;
    }

    const caArtifact = async (name: string) =>
      (await t.platform.db.one<{ artifact_id: string | null }>(
        `SELECT ca.artifact_id FROM core_contentartifact ca JOIN test_thing d ON d.content_ptr_id = ca.content_id WHERE d.name = $1`,
        [name],
      ))!.artifact_id;

    let odRepo: { pulp_href: string };
    const od = {
      ondemand: randomBytes(300 * 1024),
      shared: randomBytes(200 * 1024),
      streamed: Buffer.from('streamed body, kept nowhere'),
      corrupt: randomBytes(100 * 1024),
      ranged: Buffer.from('0123456789abcdef'),
    };

    beforeAll(async () => {
      odRepo = (await t.api('POST', REPOS, { body: { name: 'od-repo' } })).body;
      const units = [
        await remoteUnit('on_demand', 'ondemand.bin', od.ondemand),
        await remoteUnit('on_demand', 'shared.bin', od.shared),
        await remoteUnit('streamed', 'streamed.txt', od.streamed),
        await remoteUnit('on_demand', 'corrupt.bin', od.corrupt, sha('something else')),
        await remoteUnit('on_demand', 'ranged.txt', od.ranged),
      ];
      await task(await t.api('POST', `${odRepo.pulp_href}modify/`, { body: { add_content_units: units } }));
      const pub = (await task(await t.api('POST', PUBS, { body: { repository: odRepo.pulp_href } }))).created_resources[0];
      await t.api('POST', DISTS, { body: { name: 'od', base_path: 'od', publication: pub } });
    });

    it('lists on-demand units with their expected sizes and answers HEAD without downloading', async () => {
      const l = await get(`${C}od/`);
      expect(l.text).toMatch(new RegExp(`<a href="ondemand\\.bin">ondemand\\.bin</a> +\\S+ \\S+ +${od.ondemand.length}\\n`));
      const h = await get(`${C}od/ondemand.bin`, {}, 'HEAD');
      expect(h.status).toBe(200);
      expect(h.headers.get('content-length')).toBe(String(od.ondemand.length));
      expect(h.headers.get('etag')).toBe(`"${sha(od.ondemand)}"`);
      expect(hits['ondemand.bin']).toBeUndefined();
    });

    it('on_demand: streams the first request from the remote, then serves the saved artifact', async () => {
      const r = await get(`${C}od/ondemand.bin`);
      expect(r.status).toBe(200);
      expect(r.body.equals(od.ondemand)).toBe(true);
      expect(r.headers.get('etag')).toBe(`"${sha(od.ondemand)}"`);
      expect(hits['ondemand.bin']).toBe(1);
      const artifactId = await caArtifact('ondemand.bin');
      expect(artifactId).not.toBeNull();
      const a = await t.platform.artifacts.findById(artifactId!);
      expect(a!.sha256).toBe(sha(od.ondemand));
      expect(existsSync(t.platform.artifacts.localPath(a!.file))).toBe(true);
      const again = await get(`${C}od/ondemand.bin`, { Range: 'bytes=0-9' });
      expect(again.status).toBe(206);
      expect(again.body.equals(od.ondemand.subarray(0, 10))).toBe(true);
      expect(again.headers.get('content-length')).toBe('10');
      expect(hits['ondemand.bin']).toBe(1);
    });

    it('shares one download between concurrent first requests (single flight)', async () => {
      delayMs = 300;
      try {
        const results = await Promise.all(Array.from({ length: 6 }, () => get(`${C}od/shared.bin`)));
        for (const r of results) {
          expect(r.status).toBe(200);
          expect(r.body.equals(od.shared)).toBe(true);
        }
        expect(hits['shared.bin']).toBe(1);
        expect(await caArtifact('shared.bin')).not.toBeNull();
      } finally {
        delayMs = 0;
      }
    });

    it('serves a Range of content that is not downloaded yet, and saves the whole file', async () => {
      const r = await get(`${C}od/ranged.txt`, { Range: 'bytes=2-5' });
      expect(r.status).toBe(206);
      expect(r.text).toBe('2345');
      expect(r.headers.get('content-range')).toBe(`bytes 2-5/${od.ranged.length}`);
      expect(await caArtifact('ranged.txt')).not.toBeNull();
    });

    it('streamed: serves from the remote every time and keeps nothing', async () => {
      const before = (await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact'))!.n;
      for (let i = 1; i <= 2; i++) {
        const r = await get(`${C}od/streamed.txt`);
        expect(r.status).toBe(200);
        expect(r.text).toBe(od.streamed.toString());
        expect(hits['streamed.txt']).toBe(i);
      }
      expect(await caArtifact('streamed.txt')).toBeNull();
      expect((await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact'))!.n).toBe(before);
    });

    it('a digest mismatch aborts the response, saves nothing and puts the source on cooldown', async () => {
      const before = (await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact'))!.n;
      await expect(fetch(`${base}${C}od/corrupt.bin`).then((res) => res.arrayBuffer())).rejects.toThrow();
      expect(await caArtifact('corrupt.bin')).toBeNull();
      expect((await t.platform.db.one<{ n: number }>('SELECT count(*)::int AS n FROM core_artifact'))!.n).toBe(before);
      const ra = await t.platform.db.one<{ failed_at: Date | null }>(`SELECT failed_at FROM core_remoteartifact WHERE url LIKE '%corrupt.bin'`);
      expect(ra!.failed_at).not.toBeNull();
      const r = await get(`${C}od/corrupt.bin`);
      expect(r.status).toBe(404);
      expect(hits['corrupt.bin']).toBe(1);
    });
  });
});
