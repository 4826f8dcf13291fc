import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scratch set of units a mirror sync has seen while building a version (RepositoryVersionBuilder
 * `markSeen` / `removeUnseen`): kept in the database so a mirror of any size costs no memory.
 * UNLOGGED because it only matters while its (incomplete) version exists; rows go with the version.
 */
export class RepositoryVersionSeen1763790400000 implements MigrationInterface {
  name = 'RepositoryVersionSeen1763790400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNLOGGED TABLE "core_repositoryversion_seen" (
      "version_id" uuid NOT NULL REFERENCES "core_repositoryversion"("pulp_id") ON DELETE CASCADE,
      "content_id" uuid NOT NULL,
      CONSTRAINT "core_repositoryversion_seen_pk" PRIMARY KEY ("version_id", "content_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS "core_repositoryversion_seen"');
  }
}
