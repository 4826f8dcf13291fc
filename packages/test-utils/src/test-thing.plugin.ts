import { Column, Entity, PrimaryColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { IsString, MaxLength } from 'class-validator';
import { definePlugin } from '@pith/plugin-api';

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

export const testPlugin = definePlugin({
  apiVersion: 1,
  id: 'test',
  version: '0.0.1',
  entities: [TestThing],
  migrations: [TestThingInitial1763790000001],
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
});
