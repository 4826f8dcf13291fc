import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { filesUnder, startTestPlatform, type TestPlatform } from '@pith/test-utils';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

function chunkForm(data: Buffer, sha?: string): FormData {
  const fd = new FormData();
  fd.append('file', new Blob([data]), 'chunk');
  if (sha) fd.append('sha256', sha);
  return fd;
}

/** Deterministic shuffle (so a failure is reproducible). */
function shuffled<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('chunked uploads', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform({ workers: 1 });
  });

  afterAll(async () => {
    await t?.stop();
  });

  const newUpload = async (size: number) => {
    const r = await t.api('POST', '/pulp/api/v3/uploads/', { body: { size } });
    expect(r.status).toBe(201);
    return r.body as { pulp_href: string; size: number };
  };

  const put = (href: string, data: Buffer, start: number, total: number | '*', sha?: string) =>
    t.api('PUT', href, {
      multipart: chunkForm(data, sha),
      headers: { 'Content-Range': `bytes ${start}-${start + data.length - 1}/${total}` },
    });

  const commit = async (href: string, sha: string) => {
    const r = await t.api('POST', `${href}commit/`, { body: { sha256: sha } });
    expect(r.status).toBe(202);
    return t.waitTask(r.body.task);
  };

  it('uploads 50 MiB in 1 MiB chunks sent out of order and commits them into one artifact', async () => {
    const data = randomBytes(50 * MiB);
    const upload = await newUpload(data.length);
    expect(Object.keys(upload)).toEqual(['pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'size', 'completed']);
    const order = shuffled(Array.from({ length: 50 }, (_, i) => i));
    expect(order[0]).not.toBe(0);
    // A few requests in flight at once, like a parallel client.
    const queue = [...order];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const part = data.subarray(i * MiB, (i + 1) * MiB);
          const r = await put(upload.pulp_href, part, i * MiB, data.length, sha256(part));
          expect(r.status).toBe(200);
        }
      }),
    );
    const read = await t.api('GET', upload.pulp_href);
    expect(read.status).toBe(200);
    expect(read.body.chunks).toHaveLength(50);
    expect(read.body.chunks[0]).toEqual({ offset: 0, size: MiB });
    expect(read.body.chunks[49]).toEqual({ offset: 49 * MiB, size: MiB });

    const task = await commit(upload.pulp_href, sha256(data));
    expect(task.state).toBe('completed');
    expect(task.name).toBe('core.upload_commit');
    expect(task.created_resources).toHaveLength(1);
    const artifact = await t.api('GET', task.created_resources[0]);
    expect(artifact.status).toBe(200);
    expect(artifact.body.sha256).toBe(sha256(data));
    expect(artifact.body.size).toBe(data.length);
    expect(sha256(readFileSync(path.join(t.mediaRoot, artifact.body.file)))).toBe(sha256(data));
    expect(await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = $1', [sha256(data)])).toHaveLength(1);
    // The upload is gone, and so is its data file (it was moved, not copied).
    expect((await t.api('GET', upload.pulp_href)).status).toBe(404);
    expect(filesUnder(path.join(t.mediaRoot, 'upload')).map((f) => path.basename(f))).not.toContain(upload.pulp_href.split('/')[5]);
  });

  it('a wrong sha256 fails the commit, stores nothing and keeps the upload for a retry', async () => {
    const data = randomBytes(3 * MiB + 123);
    const upload = await newUpload(data.length);
    for (const [s, e] of [[2 * MiB, data.length], [0, MiB], [MiB, 2 * MiB]] as const) {
      expect((await put(upload.pulp_href, data.subarray(s, e), s, '*')).status).toBe(200);
    }
    const artifactFilesBefore = filesUnder(path.join(t.mediaRoot, 'artifact'));
    const wrong = sha256(Buffer.from('something else'));
    const failed = await commit(upload.pulp_href, wrong);
    expect(failed.state).toBe('failed');
    expect(failed.error.description).toMatch(/sha256 checksum of the uploaded file .* does not match the expected one/);
    expect(failed.created_resources).toEqual([]);
    expect(await t.platform.db.query('SELECT 1 FROM core_artifact WHERE sha256 = ANY($1)', [[wrong, sha256(data)]])).toHaveLength(0);
    expect(filesUnder(path.join(t.mediaRoot, 'artifact'))).toEqual(artifactFilesBefore);
    expect((await t.api('GET', upload.pulp_href)).status).toBe(200);

    const ok = await commit(upload.pulp_href, sha256(data).toUpperCase());
    expect(ok.state).toBe('completed');
    expect((await t.api('GET', ok.created_resources[0])).body.sha256).toBe(sha256(data));
  });

  it('an incomplete upload cannot be committed', async () => {
    const upload = await newUpload(100);
    expect((await put(upload.pulp_href, randomBytes(50), 50, 100)).status).toBe(200);
    const failed = await commit(upload.pulp_href, '0'.repeat(64));
    expect(failed.state).toBe('failed');
    expect(failed.error.description).toMatch(/incomplete: no chunk covers bytes 0-49 of 100/);
    expect((await t.api('GET', upload.pulp_href)).status).toBe(200);
  });

  it('committing bytes that are already stored reuses the artifact', async () => {
    const data = randomBytes(4096);
    const a = await newUpload(data.length);
    await put(a.pulp_href, data, 0, data.length);
    const first = await commit(a.pulp_href, sha256(data));
    const b = await newUpload(data.length);
    await put(b.pulp_href, data, 0, data.length);
    const second = await commit(b.pulp_href, sha256(data));
    expect(second.state).toBe('completed');
    expect(second.created_resources).toEqual(first.created_resources);
    expect((await t.api('GET', b.pulp_href)).status).toBe(404);
  });

  it('an empty upload commits to the empty artifact', async () => {
    const u = await newUpload(0);
    const task = await commit(u.pulp_href, sha256(Buffer.alloc(0)));
    expect(task.state).toBe('completed');
    expect((await t.api('GET', task.created_resources[0])).body.size).toBe(0);
  });

  it('rejects bad, out-of-bounds and overlapping ranges; accepts an identical retry', async () => {
    const u = await newUpload(1000);
    const part = randomBytes(100);
    const noHeader = await t.api('PUT', u.pulp_href, { multipart: chunkForm(part) });
    expect(noHeader.status).toBe(400);
    expect(noHeader.body.detail).toBe('Invalid or missing content range header.');
    const garbage = await t.api('PUT', u.pulp_href, { multipart: chunkForm(part), headers: { 'Content-Range': 'bytes=0-99/1000' } });
    expect(garbage.status).toBe(400);
    const wrongSize = await t.api('PUT', u.pulp_href, { multipart: chunkForm(part), headers: { 'Content-Range': 'bytes 0-98/1000' } });
    expect(wrongSize.status).toBe(400);
    expect(wrongSize.body.detail).toMatch(/Chunk size does not match content range/);
    expect((await put(u.pulp_href, part, 950, '*')).body.detail).toBe('End byte is greater than upload size.');
    expect((await put(u.pulp_href, part, 0, 2000)).status).toBe(400);
    const badSha = await put(u.pulp_href, part, 0, 1000, '0'.repeat(64));
    expect(badSha.status).toBe(400);
    expect(badSha.body).toEqual({ sha256: ['Checksum does not match chunk upload.'] });

    const ok = await put(u.pulp_href, part, 100, 1000, sha256(part));
    expect(ok.status).toBe(200);
    expect(ok.body.chunks).toEqual([{ offset: 100, size: 100 }]);
    const overlap = await put(u.pulp_href, randomBytes(100), 150, 1000);
    expect(overlap.status).toBe(400);
    expect(overlap.body.detail).toMatch(/overlap/);
    const overlap2 = await put(u.pulp_href, randomBytes(200), 50, 1000);
    expect(overlap2.status).toBe(400);
    const retry = await put(u.pulp_href, part, 100, 1000);
    expect(retry.status).toBe(200);
    expect(retry.body.chunks).toEqual([{ offset: 100, size: 100 }]);
    const adjacent = await put(u.pulp_href, randomBytes(100), 200, 1000);
    expect(adjacent.body.chunks).toEqual([{ offset: 100, size: 100 }, { offset: 200, size: 100 }]);

    const missingFile = await t.api('PUT', u.pulp_href, { form: { sha256: sha256(part) }, headers: { 'Content-Range': 'bytes 0-99/1000' } });
    expect(missingFile.status).toBe(400);
    expect(missingFile.body.file).toBeDefined();
    const gone = await t.api('PUT', `/pulp/api/v3/uploads/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}/`, {
      multipart: chunkForm(part),
      headers: { 'Content-Range': 'bytes 0-99/1000' },
    });
    expect(gone.status).toBe(404);
  });

  it('validates create and commit bodies', async () => {
    expect((await t.api('POST', '/pulp/api/v3/uploads/', { body: {} })).body).toEqual({ size: ['This field is required.'] });
    expect((await t.api('POST', '/pulp/api/v3/uploads/', { body: { size: -1 } })).status).toBe(400);
    expect((await t.api('POST', '/pulp/api/v3/uploads/', { body: { size: 1, extra: 1 } })).body).toEqual({ extra: ['Unexpected field'] });
    const u = await newUpload(10);
    expect((await t.api('POST', `${u.pulp_href}commit/`, { body: {} })).body).toEqual({ sha256: ['This field is required.'] });
    expect((await t.api('POST', `${u.pulp_href}commit/`, { body: { sha256: 'abc' } })).status).toBe(400);
    expect((await t.api('POST', `/pulp/api/v3/uploads/${'1'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}/commit/`, { body: { sha256: '0'.repeat(64) } })).status).toBe(404);
  });

  it('lists, reads and deletes uploads (removing the data file)', async () => {
    const u = await newUpload(12345);
    const id = u.pulp_href.split('/')[5]!;
    expect(filesUnder(path.join(t.mediaRoot, 'upload')).map((f) => path.basename(f))).toContain(id);
    const list = await t.api('GET', '/pulp/api/v3/uploads/?size=12345');
    expect(list.status).toBe(200);
    expect(list.body.results.map((x: { pulp_href: string }) => x.pulp_href)).toEqual([u.pulp_href]);
    expect(list.body.results[0].chunks).toBeUndefined();
    expect((await t.api('GET', '/pulp/api/v3/uploads/?size__gt=12345&pulp_id__in=' + id)).body.count).toBe(0);
    expect((await t.api('GET', '/pulp/api/v3/uploads/?nope=1')).status).toBe(400);
    const read = await t.api('GET', u.pulp_href);
    expect(read.body.chunks).toEqual([]);
    expect((await t.api('DELETE', u.pulp_href, { headers: { 'If-Match': '"old"' } })).status).toBe(412);
    const del = await t.api('DELETE', u.pulp_href);
    expect(del.status).toBe(204);
    expect((await t.api('GET', u.pulp_href)).status).toBe(404);
    expect((await t.api('DELETE', u.pulp_href)).status).toBe(404);
    expect(filesUnder(path.join(t.mediaRoot, 'upload')).map((f) => path.basename(f))).not.toContain(id);
  });
});
