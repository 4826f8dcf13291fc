import { Column, Entity, PrimaryColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { writeFile } from 'node:fs/promises';
import { definePlugin, TaskError, type PublishTaskPayload, type TaskContext } from '@pith/plugin-api';

/** Test-only content type: one artifact, identified by `name` (lets core tests run without real plugins). */
@Entity('test_thing')
export class TestThing {
  @PrimaryColumn('uuid') content_ptr_id: string;
  @Column('text') name: string;
  @Column('varchar', { length: 64 }) sha256: string;
}

export class TestThingInitial1763790000001 implements MigrationInterface {
  name = 'TestThingInitial1763790000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "test_thing" (
      "content_ptr_id" uuid PRIMARY KEY REFERENCES core_content(pulp_id) ON DELETE CASCADE,
      "name" text NOT NULL, "sha256" varchar(64) NOT NULL,
      CONSTRAINT "test_thing_name_sha256_uniq" UNIQUE ("name", "sha256"))`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "test_thing"');
  }
}

export class TestThingCreateDto {
  @IsString() @MaxLength(255) name: string;
}

/** Detail table of `test.thing` publications (the manifest file name, like pulp_file's). */
@Entity('test_thingpublication')
export class TestThingPublication {
  @PrimaryColumn('uuid') publication_ptr_id: string;
  @Column('text') manifest: string;
}

export class TestThingPublicationInitial1763790000002 implements MigrationInterface {
  name = 'TestThingPublicationInitial1763790000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "test_thingpublication" (
      "publication_ptr_id" uuid PRIMARY KEY REFERENCES core_publication(pulp_id) ON DELETE CASCADE,
      "manifest" text NOT NULL)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "test_thingpublication"');
  }
}

/** Body fields of `POST publications/test/thing/` besides repository / repository_version. */
export class TestThingPublicationDto {
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9._-]+$/) manifest?: string;
  /** Build a new publication even if an equal one exists. */
  @IsOptional() @IsBoolean() force?: boolean;
  /** Publish every content artifact of the version by its path (no published artifacts). */
  @IsOptional() @IsBoolean() pass_through?: boolean;
  /** Test hooks: fail after everything was written / wait before completing. */
  @IsOptional() @IsBoolean() fail?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(30000) delay_ms?: number;
}

export class TestPublishPayload extends TestThingPublicationDto implements PublishTaskPayload {
  @IsUUID() repository_id: string;
  @IsString() repository_href: string;
  @IsUUID() repository_version_id: string;
  @IsString() publication_type: string;
}

/** Publishes a test.thing version: every artifact by its path plus a CSV manifest (`path,sha256,size`). */
async function publishThings(ctx: TaskContext, pl: TestPublishPayload) {
  const manifest = pl.manifest ?? 'MANIFEST';
  if (!pl.force) {
    const existing = await ctx.publications.reuseExisting({
      pulpType: pl.publication_type, repositoryVersionId: pl.repository_version_id, detail: { manifest }, passThrough: !!pl.pass_through,
    });
    if (existing) return { publication: existing.href, reused: true };
  }
  const pub = await ctx.publications.create(
    { pulpType: pl.publication_type, repositoryVersionId: pl.repository_version_id, detail: { manifest }, passThrough: !!pl.pass_through },
    async (b) => {
      const lines: string[] = [];
      for await (const batch of b.contentArtifacts(2)) {
        if (!pl.pass_through) await b.addPublishedArtifacts(batch.map((ca) => ({ contentArtifactId: ca.content_artifact_id, relativePath: ca.relative_path })));
        for (const ca of batch) lines.push(`${ca.relative_path},${ca.sha256 ?? ''},${ca.size ?? ''}`);
      }
      const tmp = ctx.artifacts.tempPath();
      await writeFile(tmp, lines.map((l) => `${l}\n`).join(''));
      await b.addMetadata(manifest, tmp);
      if (pl.delay_ms) await new Promise((r) => setTimeout(r, pl.delay_ms));
      if (pl.fail) throw new TaskError('publication failed on request');
    },
  );
  return { publication: pub.href, reused: false };
}

export const testPlugin = definePlugin({
  apiVersion: 1,
  id: 'test',
  version: '0.0.1',
  entities: [TestThing, TestThingPublication],
  migrations: [TestThingInitial1763790000001, TestThingPublicationInitial1763790000002],
  contentTypes: [
    {
      type: 'thing',
      endpoint: 'things',
      entity: TestThing,
      naturalKey: ['name', 'sha256'],
      repositoryKey: ['name'],
      artifacts: 'one',
      serialize: (d) => ({ name: d.name, sha256: d.sha256 }),
      filters: { name: { column: 'name', type: 'string', lookups: ['in', 'contains'] } },
    },
  ],
  repositoryTypes: [{ type: 'thing', contentTypes: ['test.thing'], remoteTypes: ['test.thing'] }],
  remoteTypes: [{ type: 'thing', policies: ['immediate', 'on_demand', 'streamed'] }],
  publicationTypes: [
    {
      type: 'thing', entity: TestThingPublication, dto: TestThingPublicationDto, publishTask: 'test.publish',
      serialize: (d) => ({ manifest: d.manifest }),
    },
  ],
  distributionTypes: [
    { type: 'thing', serveFromPublication: true },
    /** Serves repository versions directly (no publications). */
    { type: 'direct', serveFromPublication: false },
  ],
  tasks: [
    {
      name: 'test.publish',
      payload: TestPublishPayload,
      resources: (pl: TestPublishPayload) => ({ shared: [pl.repository_href] }),
      run: publishThings,
    },
  ],
});
