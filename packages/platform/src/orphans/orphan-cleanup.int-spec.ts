import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { startTestPlatform, type TestPlatform } from '@pith/test-utils';
import type { ArtifactInfo } from '@pith/plugin-api';
import { uuid7 } from '../util/uuid7';

interface Unit {
  contentId: string;
  caId: string;
  artifact: ArtifactInfo;
  href: string;
}

describe('orphan cleanup', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform({ workers: 2 });
  });

  afterAll(async () => {
    await t?.stop();
  });

  const db = () => t.platform.db;

  /** A test.thing unit with its own artifact, set up with SQL; `ageMinutes` back-dates both. */
  async function unit(ageMinutes = 120): Promise<Unit> {
    const artifact = await t.platform.artifacts.saveStream(Readable.from([randomBytes(2048)]));
    const contentId = uuid7();
    const caId = uuid7();
    await db().query(
      "INSERT INTO core_content (pulp_id, pulp_type, timestamp_of_interest) VALUES ($1, 'test.thing', now() - make_interval(mins => $2::int))",
      [contentId, ageMinutes],
    );
    await db().query('INSERT INTO test_thing (content_ptr_id, name, sha256) VALUES ($1, $2, $3)', [contentId, `n-${contentId}`, artifact.sha256]);
    await db().query(
      'INSERT INTO core_contentartifact (pulp_id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)',
      [caId, contentId, artifact.pulp_id, `f/${contentId}`],
    );
    await age('core_artifact', artifact.pulp_id, ageMinutes);
    return { contentId, caId, artifact, href: `/pulp/api/v3/content/test/things/${contentId}/` };
  }

  async function age(table: 'core_artifact' | 'core_content', id: string, minutes: number): Promise<void> {
    await db().query(`UPDATE ${table} SET timestamp_of_interest = now() - make_interval(mins => $2::int) WHERE pulp_id = $1`, [id, minutes]);
  }

  async function repoWithVersions(n: number): Promise<{ repoId: string; versionIds: string[] }> {
    const repoId = uuid7();
    await db().query("INSERT INTO core_repository (pulp_id, pulp_type, name, next_version) VALUES ($1, 'test.thing', $2, $3)", [repoId, `r-${repoId}`, n + 1]);
    const versionIds: string[] = [];
    for (let i = 0; i <= n; i++) {
      const id = uuid7();
      versionIds.push(id);
      await db().query('INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete) VALUES ($1, $2, $3, true)', [id, repoId, i]);
    }
    return { repoId, versionIds };
  }

  const exists = async (u: Unit) => ({
    content: !!(await db().one('SELECT 1 FROM core_content WHERE pulp_id = $1', [u.contentId])),
    detail: !!(await db().one('SELECT 1 FROM test_thing WHERE content_ptr_id = $1', [u.contentId])),
    artifact: !!(await db().one('SELECT 1 FROM core_artifact WHERE pulp_id = $1', [u.artifact.pulp_id])),
    file: existsSync(t.platform.artifacts.localPath(u.artifact.file)),
  });
  const ALL = { content: true, detail: true, artifact: true, file: true };
  const NONE = { content: false, detail: false, artifact: false, file: false };

  async function cleanup(body: Record<string, unknown> = {}) {
    const r = await t.api('POST', '/pulp/api/v3/orphans/cleanup/', { body });
    expect(r.status).toBe(202);
    const task = await t.waitTask(r.body.task);
    expect(task.state).toBe('completed');
    return task;
  }

  it('removes unreferenced content and artifacts (rows and files) and keeps everything in use', async () => {
    const orphan = await unit();
    const inOldVersionOnly = await unit();
    const inLatest = await unit();
    const publishedOnly = await unit();
    const fresh = await unit(0);
    const looseArtifact = await t.platform.artifacts.saveStream(Readable.from([randomBytes(100)]));
    await age('core_artifact', looseArtifact.pulp_id, 120);
    const metadataArtifact = await t.platform.artifacts.saveStream(Readable.from([randomBytes(100)]));
    await age('core_artifact', metadataArtifact.pulp_id, 120);

    const { repoId, versionIds } = await repoWithVersions(2);
    await db().query(
      'INSERT INTO core_repositorycontent (repository_id, content_id, version_added, version_removed) VALUES ($1, $2, 1, 2), ($1, $3, 1, NULL)',
      [repoId, inOldVersionOnly.contentId, inLatest.contentId],
    );
    const pubId = uuid7();
    await db().query("INSERT INTO core_publication (pulp_id, pulp_type, repository_version_id, complete) VALUES ($1, 'test.thing', $2, true)", [pubId, versionIds[2]]);
    await db().query('INSERT INTO core_publishedartifact (pulp_id, publication_id, content_artifact_id, relative_path) VALUES ($1, $2, $3, $4)', [uuid7(), pubId, publishedOnly.caId, 'p']);
    await db().query('INSERT INTO core_publishedmetadata (pulp_id, publication_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)', [uuid7(), pubId, metadataArtifact.pulp_id, 'MANIFEST']);

    const task = await cleanup({ orphan_protection_time: 60 });
    expect(task.name).toBe('core.orphan_cleanup');
    const reports = Object.fromEntries(task.progress_reports.map((r: { code: string }) => [r.code, r]));
    expect(reports['clean-up.content']).toMatchObject({ message: 'Clean up orphan Content', state: 'completed', done: 1, total: 1 });
    expect(reports['clean-up.artifacts']).toMatchObject({ message: 'Clean up orphan Artifacts', state: 'completed', done: 2, total: 2 });

    expect(await exists(orphan)).toEqual(NONE);
    expect(await db().one('SELECT 1 FROM core_contentartifact WHERE pulp_id = $1', [orphan.caId])).toBeUndefined();
    for (const kept of [inOldVersionOnly, inLatest, publishedOnly, fresh]) expect(await exists(kept)).toEqual(ALL);
    expect(await db().one('SELECT 1 FROM core_artifact WHERE pulp_id = $1', [looseArtifact.pulp_id])).toBeUndefined();
    expect(existsSync(t.platform.artifacts.localPath(looseArtifact.file))).toBe(false);
    expect(await db().one('SELECT 1 FROM core_artifact WHERE pulp_id = $1', [metadataArtifact.pulp_id])).toBeDefined();
    expect(existsSync(t.platform.artifacts.localPath(metadataArtifact.file))).toBe(true);

    // Without protection the fresh orphan goes too (the harness sets PITH_ORPHAN_PROTECTION_TIME=0).
    await cleanup();
    expect(await exists(fresh)).toEqual(NONE);
    for (const kept of [inOldVersionOnly, inLatest, publishedOnly]) expect(await exists(kept)).toEqual(ALL);
  });

  it('content_hrefs narrows the content considered', async () => {
    const a = await unit();
    const b = await unit();
    await cleanup({ content_hrefs: [a.href], orphan_protection_time: 0 });
    expect(await exists(a)).toEqual(NONE);
    expect(await exists(b)).toEqual(ALL);
    await cleanup({ content_hrefs: [b.href] });
    expect(await exists(b)).toEqual(NONE);
  });

  it('validates the request', async () => {
    const post = (body: unknown) => t.api('POST', '/pulp/api/v3/orphans/cleanup/', { body });
    expect((await post({ orphan_protection_time: -1 })).status).toBe(400);
    expect((await post({ content_hrefs: 'x' })).status).toBe(400);
    expect((await post({ bogus: 1 })).body).toEqual({ bogus: ['Unexpected field'] });
    const notContent = await post({ content_hrefs: [`/pulp/api/v3/artifacts/${uuid7()}/`] });
    expect(notContent.status).toBe(400);
    expect(notContent.body.content_hrefs[0]).toMatch(/not content hrefs/);
    const missing = await post({ content_hrefs: [`/pulp/api/v3/content/test/things/${uuid7()}/`] });
    expect(missing.status).toBe(400);
    expect(missing.body.content_hrefs[0]).toMatch(/Could not find/);
    // An empty body is fine (and so is no body at all).
    const r = await t.api('POST', '/pulp/api/v3/orphans/cleanup/');
    expect(r.status).toBe(202);
    expect((await t.waitTask(r.body.task)).state).toBe('completed');
  });

  it('a unit linked by a transaction that is still open when cleanup starts survives (lock + re-check)', async () => {
    const linked = await unit();
    const touched = await unit();
    const victim = await unit();
    const { repoId } = await repoWithVersions(1);
    const other = new Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      // Like a modify in flight: one unit linked (FK share lock), one touched (row lock), not committed.
      await other.query('INSERT INTO core_repositorycontent (repository_id, content_id, version_added) VALUES ($1, $2, 1)', [repoId, linked.contentId]);
      await other.query('UPDATE core_content SET timestamp_of_interest = now() WHERE pulp_id = $1', [touched.contentId]);
      const r = await t.api('POST', '/pulp/api/v3/orphans/cleanup/', { body: { orphan_protection_time: 10 } });
      expect(r.status).toBe(202);
      // Wait until the cleanup is blocked on our row locks, then let "the modify" commit.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const waiting = await db().one(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FOR UPDATE%'",
        );
        if (waiting) break;
        if (Date.now() > deadline) throw new Error('cleanup never waited for the open transaction');
        await new Promise((res) => setTimeout(res, 50));
      }
      await other.query('COMMIT');
      const task = await t.waitTask(r.body.task);
      expect(task.state).toBe('completed');
    } finally {
      await other.end();
    }
    expect(await exists(linked)).toEqual(ALL);
    expect(await exists(touched)).toEqual(ALL);
    expect(await exists(victim)).toEqual(NONE);
  });

  it('with a modify running concurrently, a unit is either kept and in the version, or gone and the modify failed', async () => {
    const repo = await t.api('POST', '/pulp/api/v3/repositories/test/thing/', { body: { name: `race-${uuid7()}` } });
    if (repo.status !== 201) {
      // The repository API belongs to another area; without it this scenario is covered by the SQL test above.
      console.warn(`repository API not available (${repo.status}); skipping the API-level race`);
      return;
    }
    for (let round = 0; round < 3; round++) {
      const units = await Promise.all(Array.from({ length: 20 }, () => unit()));
      const [m, c] = await Promise.all([
        t.api('POST', `${repo.body.pulp_href}modify/`, { body: { add_content_units: units.map((u) => u.href) } }),
        t.api('POST', '/pulp/api/v3/orphans/cleanup/', { body: { orphan_protection_time: 0 } }),
      ]);
      expect(m.status).toBe(202);
      expect(c.status).toBe(202);
      const [modify, clean] = await Promise.all([t.waitTask(m.body.task), t.waitTask(c.body.task)]);
      expect(clean.state).toBe('completed');
      const states = await Promise.all(units.map(exists));
      if (modify.state === 'completed') {
        for (const s of states) expect(s).toEqual(ALL);
        const inVersion = await db().query(
          'SELECT content_id FROM core_repositorycontent WHERE repository_id = $1 AND version_removed IS NULL',
          [repo.body.pulp_href.split('/')[7]],
        );
        const ids = new Set(inVersion.map((r) => r.content_id));
        for (const u of units) expect(ids.has(u.contentId)).toBe(true);
      } else {
        expect(modify.state).toBe('failed');
      }
      // Never half a unit: detail rows and master rows go together.
      for (const s of states) expect(s.content).toBe(s.detail);
      // Start the next round from a clean repository.
      const reset = await t.api('POST', `${repo.body.pulp_href}modify/`, { body: { remove_content_units: ['*'] } });
      await t.waitTask(reset.body.task);
    }
  });
});
