import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { filesUnder, startTestPlatform, type TestPlatform } from '@pith/test-utils';
import { uuid7 } from '../util/uuid7';
import { ArtifactVerificationError } from '../storage/artifact-verification.error';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

function form(data: Buffer | null, fields: Record<string, string> = {}): FormData {
  const fd = new FormData();
  if (data) fd.append('file', new Blob([data]), 'blob.bin');
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}

describe('artifacts API and artifact storage', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform();
  });

  afterAll(async () => {
    await t?.stop();
  });

  const create = (data: Buffer | null, fields: Record<string, string> = {}) =>
    t.api('POST', '/pulp/api/v3/artifacts/', { multipart: form(data, fields) });

  /** A test.thing unit using `artifactId`, set up with SQL (no content API needed). */
  async function thingWith(artifactId: string): Promise<{ contentId: string; caId: string }> {
    const contentId = uuid7();
    const caId = uuid7();
    await t.platform.db.query("INSERT INTO core_content (pulp_id, pulp_type) VALUES ($1, 'test.thing')", [contentId]);
    await t.platform.db.query('INSERT INTO test_thing (content_ptr_id, name, sha256) VALUES ($1, $2, $3)', [contentId, `n-${contentId}`, 'x'.repeat(64)]);
    await t.platform.db.query(
      'INSERT INTO core_contentartifact (pulp_id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)',
      [caId, contentId, artifactId, `p/${contentId}`],
    );
    return { contentId, caId };
  }

  it('creates an artifact from a multipart file, hashed with the configured digests', async () => {
    const data = randomBytes(100_000);
    const r = await create(data);
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/json');
    const a = r.body;
    expect(Object.keys(a)).toEqual([
      'pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'file', 'size', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512',
    ]);
    expect(a.pulp_href).toMatch(/^\/pulp\/api\/v3\/artifacts\/[0-9a-f-]{36}\/$/);
    expect(a.prn).toBe(`prn:core.artifact:${a.pulp_href.split('/')[5]}`);
    expect(a.size).toBe(data.length);
    expect(a.sha256).toBe(sha256(data));
    expect(a.sha224).toBe(sha('sha224', data));
    expect(a.sha384).toBe(sha('sha384', data));
    expect(a.sha512).toBe(sha('sha512', data));
    expect(a.md5).toBeNull();
    expect(a.sha1).toBeNull();
    expect(a.file).toBe(`artifact/${a.sha256.slice(0, 2)}/${a.sha256.slice(2)}`);
    expect(readFileSync(path.join(t.mediaRoot, a.file)).equals(data)).toBe(true);
    expect(filesUnder(path.join(t.mediaRoot, 'tmp'))).toEqual([]);

    const read = await t.api('GET', a.pulp_href);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(a);
    expect(read.headers.get('etag')).toBeTruthy();
  });

  it('rejects the same bytes a second time like Pulp does', async () => {
    const data = randomBytes(1000);
    expect((await create(data)).status).toBe(201);
    const again = await create(data);
    expect(again.status).toBe(400);
    expect(again.body.non_field_errors[0]).toBe(`Artifact with sha256 checksum of '${sha256(data)}' already exists.`);
    const rows = await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = $1', [sha256(data)]);
    expect(rows).toHaveLength(1);
  });

  it('verifies the given size and digests before anything is stored', async () => {
    const data = randomBytes(5000);
    const before = filesUnder(path.join(t.mediaRoot, 'artifact')).length;

    const badSha = await create(data, { sha256: 'ab'.repeat(32) });
    expect(badSha.status).toBe(400);
    expect(badSha.body).toEqual({ sha256: ['The sha256 checksum did not match.'] });

    const badSize = await create(data, { size: '4999' });
    expect(badSize.status).toBe(400);
    expect(badSize.body).toEqual({ size: ['The size did not match actual size of file.'] });

    const bad512 = await create(data, { sha256: sha256(data), sha512: '00'.repeat(64) });
    expect(bad512.status).toBe(400);
    expect(Object.keys(bad512.body)).toEqual(['sha512']);

    expect(await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = $1', [sha256(data)])).toHaveLength(0);
    expect(filesUnder(path.join(t.mediaRoot, 'artifact')).length).toBe(before);
    expect(filesUnder(path.join(t.mediaRoot, 'tmp'))).toEqual([]);

    const ok = await create(data, { size: String(data.length), sha256: sha256(data).toUpperCase(), sha384: sha('sha384', data) });
    expect(ok.status).toBe(201);
  });

  it('validates the request body', async () => {
    const forbidden = await create(randomBytes(10), { md5: 'a'.repeat(32) });
    expect(forbidden.status).toBe(400);
    expect(forbidden.body.md5[0]).toMatch(/not allowed/);

    const malformed = await create(randomBytes(10), { sha256: 'xyz' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.sha256[0]).toMatch(/64-character/);

    const noFile = await create(null, { size: '3' });
    expect(noFile.status).toBe(400);
    expect(noFile.body).toEqual({ file: ['This field is required.'] });

    const textFile = await create(null, { file: 'not a file' });
    expect(textFile.status).toBe(400);
    expect(textFile.body.file[0]).toMatch(/not a file/);

    const extra = await create(randomBytes(10), { bogus: '1' });
    expect(extra.status).toBe(400);
    expect(extra.body).toEqual({ bogus: ['Unexpected field'] });

    const json = await t.api('POST', '/pulp/api/v3/artifacts/', { body: { size: 1 } });
    expect(json.status).toBe(415);
  });

  it('lists with digest, id, href, ordering and repository_version filters', async () => {
    const datas = [randomBytes(10), randomBytes(30), randomBytes(20)];
    const arts = [];
    for (const d of datas) arts.push((await create(d)).body);

    const bySha = await t.api('GET', `/pulp/api/v3/artifacts/?sha256=${arts[1].sha256}`);
    expect(bySha.status).toBe(200);
    expect(bySha.body.count).toBe(1);
    expect(bySha.body.results[0].pulp_href).toBe(arts[1].pulp_href);
    expect((await t.api('GET', `/pulp/api/v3/artifacts/?sha512=${arts[2].sha512}`)).body.results[0].pulp_href).toBe(arts[2].pulp_href);
    expect((await t.api('GET', `/pulp/api/v3/artifacts/?sha256=${'0'.repeat(64)}`)).body.count).toBe(0);

    const ids = arts.map((a) => a.pulp_href.split('/')[5]);
    const byIds = await t.api('GET', `/pulp/api/v3/artifacts/?pulp_id__in=${ids[0]},${ids[2]}&ordering=size`);
    expect(byIds.body.results.map((a: { size: number }) => a.size)).toEqual([10, 20]);
    const byHrefs = await t.api('GET', `/pulp/api/v3/artifacts/?pulp_href__in=${arts[1].pulp_href},${arts[2].pulp_href}&ordering=-size`);
    expect(byHrefs.body.results.map((a: { size: number }) => a.size)).toEqual([30, 20]);

    const page = await t.api('GET', `/pulp/api/v3/artifacts/?pulp_id__in=${ids.join(',')}&limit=2&fields=sha256,size`);
    expect(page.body.count).toBe(3);
    expect(page.body.results).toHaveLength(2);
    expect(Object.keys(page.body.results[0]).sort()).toEqual(['sha256', 'size']);
    expect(page.body.next).toContain('offset=2');

    expect((await t.api('GET', '/pulp/api/v3/artifacts/?sha257=abc')).status).toBe(400);
    expect((await t.api('GET', '/pulp/api/v3/artifacts/?ordering=nope')).status).toBe(400);
    expect((await t.api('GET', '/pulp/api/v3/artifacts/?pulp_id__in=not-a-uuid')).status).toBe(400);

    // Repository versions set up with SQL: artifact 0 is in version 1 only, artifact 1 in 1 and 2.
    const repoId = uuid7();
    await t.platform.db.query("INSERT INTO core_repository (pulp_id, pulp_type, name) VALUES ($1, 'test.thing', $2)", [repoId, `r-${repoId}`]);
    for (const n of [0, 1, 2]) {
      await t.platform.db.query('INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, $3, true)', [uuid7(), repoId, n]);
    }
    const c0 = await thingWith(ids[0]!);
    const c1 = await thingWith(ids[1]!);
    await t.platform.db.query(
      'INSERT INTO core_repositorycontent (repository_id, content_id, version_added, version_removed) VALUES ($1, $2, 1, 2), ($1, $3, 1, NULL)',
      [repoId, c0.contentId, c1.contentId],
    );
    const repoHref = `/pulp/api/v3/repositories/test/thing/${repoId}/`;
    const inV = async (n: number) =>
      (await t.api('GET', `/pulp/api/v3/artifacts/?repository_version=${repoHref}versions/${n}/&ordering=size`)).body.results.map((a: { size: number }) => a.size);
    expect(await inV(0)).toEqual([]);
    expect(await inV(1)).toEqual([10, 30]);
    expect(await inV(2)).toEqual([30]);
    const missing = await t.api('GET', `/pulp/api/v3/artifacts/?repository_version=${repoHref}versions/9/`);
    expect(missing.status).toBe(400);
    expect(missing.body.repository_version).toBeDefined();
    expect((await t.api('GET', `/pulp/api/v3/artifacts/?repository_version=${repoHref}`)).status).toBe(400);

    // orphaned_for: artifact 2 is unreferenced; make it look old.
    await t.platform.db.query("UPDATE core_artifact SET timestamp_of_interest = now() - interval '2 hours' WHERE pulp_id = $1", [ids[2]]);
    const orphans = await t.api('GET', `/pulp/api/v3/artifacts/?orphaned_for=60&pulp_id__in=${ids.join(',')}`);
    expect(orphans.body.results.map((a: { pulp_href: string }) => a.pulp_href)).toEqual([arts[2].pulp_href]);
  });

  it('answers 404 for unknown or malformed artifact hrefs', async () => {
    expect((await t.api('GET', `/pulp/api/v3/artifacts/${uuid7()}/`)).status).toBe(404);
    expect((await t.api('GET', '/pulp/api/v3/artifacts/nope/')).status).toBe(404);
    expect((await t.api('DELETE', `/pulp/api/v3/artifacts/${uuid7()}/`)).status).toBe(404);
  });

  it('deletes only artifacts nothing uses, and removes the file', async () => {
    const used = (await create(randomBytes(64))).body;
    const usedId = used.pulp_href.split('/')[5];
    await thingWith(usedId);
    const r1 = await t.api('DELETE', used.pulp_href);
    expect(r1.status).toBe(409);
    expect(r1.body.detail).toMatch(/used by 1 content unit/);

    const meta = (await create(randomBytes(64))).body;
    const repoId = uuid7();
    const versionId = uuid7();
    const pubId = uuid7();
    await t.platform.db.query("INSERT INTO core_repository (pulp_id, pulp_type, name) VALUES ($1, 'test.thing', $2)", [repoId, `r-${repoId}`]);
    await t.platform.db.query('INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, 0, true)', [versionId, repoId]);
    await t.platform.db.query("INSERT INTO core_publication (pulp_id, pulp_type, repository_version_id, complete) VALUES ($1, 'test.thing', $2, true)", [pubId, versionId]);
    await t.platform.db.query('INSERT INTO core_publishedmetadata (pulp_id, publication_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)', [uuid7(), pubId, meta.pulp_href.split('/')[5], 'MANIFEST']);
    const r2 = await t.api('DELETE', meta.pulp_href);
    expect(r2.status).toBe(409);
    expect(r2.body.detail).toMatch(/published metadata/);

    const free = (await create(randomBytes(64))).body;
    const stale = await t.api('DELETE', free.pulp_href, { headers: { 'If-Match': '"stale"' } });
    expect(stale.status).toBe(412);
    const etag = (await t.api('GET', free.pulp_href)).headers.get('etag')!;
    const ok = await t.api('DELETE', free.pulp_href, { headers: { 'If-Match': etag } });
    expect(ok.status).toBe(204);
    expect(ok.text).toBe('');
    expect((await t.api('GET', free.pulp_href)).status).toBe(404);
    expect(existsSync(path.join(t.mediaRoot, free.file))).toBe(false);
    expect(existsSync(path.join(t.mediaRoot, used.file))).toBe(true);
  });

  it('saveStream dedupes on sha256, touches the row and restores a missing file', async () => {
    const store = t.platform.artifacts;
    const data = randomBytes(70_000);
    const first = await store.saveStream(Readable.from([data]), { size: data.length, sha256: sha256(data) });
    await t.platform.db.query("UPDATE core_artifact SET timestamp_of_interest = now() - interval '1 day' WHERE pulp_id = $1", [first.pulp_id]);
    unlinkSync(store.localPath(first.file));

    const second = await store.saveStream(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(second.pulp_id).toBe(first.pulp_id);
    expect(readFileSync(store.localPath(first.file)).equals(data)).toBe(true);
    const row = await t.platform.db.one("SELECT timestamp_of_interest > now() - interval '1 minute' AS fresh FROM core_artifact WHERE pulp_id = $1", [first.pulp_id]);
    expect(row?.fresh).toBe(true);

    await expect(store.saveStream(Readable.from([randomBytes(10)]), { sha256: '0'.repeat(64) })).rejects.toBeInstanceOf(ArtifactVerificationError);
    await expect(store.saveStream(Readable.from([randomBytes(10)]), { size: 11 })).rejects.toMatchObject({ field: 'size' });
    expect(filesUnder(path.join(t.mediaRoot, 'tmp'))).toEqual([]);

    const tmp = store.tempPath();
    writeFileSync(tmp, data);
    const third = await store.saveFile(tmp);
    expect(third.pulp_id).toBe(first.pulp_id);
    expect(existsSync(tmp)).toBe(false);

    const ranged = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      store.openRead(first.file, { start: 10, end: 19 })
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => resolve(Buffer.concat(chunks)))
        .on('error', reject);
    });
    expect(ranged.equals(data.subarray(10, 20))).toBe(true);
  });

  it('concurrent saves of the same bytes end with one row and one intact file', async () => {
    const data = randomBytes(300_000);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => t.platform.artifacts.saveStream(Readable.from([data]))),
    );
    expect(new Set(results.map((r) => r.pulp_id)).size).toBe(1);
    expect(readFileSync(t.platform.artifacts.localPath(results[0]!.file)).equals(data)).toBe(true);
  });
});
