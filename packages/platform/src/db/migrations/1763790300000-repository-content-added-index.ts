import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Index for "rows added in version N" (version counts, squash, `repository_version_added`
 * filters): without it those scan every row of the repository.
 */
export class RepositoryContentAddedIndex1763790300000 implements MigrationInterface {
  name = 'RepositoryContentAddedIndex1763790300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "core_repositorycontent_repo_added_idx" ON "core_repositorycontent" ("repository_id", "version_added")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS "core_repositorycontent_repo_added_idx"');
  }
}
