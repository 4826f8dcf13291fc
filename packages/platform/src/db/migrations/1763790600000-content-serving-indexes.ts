import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes the content app needs: a pass-through publication or a version-serving distribution
 * resolves a request by `core_contentartifact.relative_path` (then checks membership), which would
 * otherwise scan every content artifact. `text_pattern_ops` serves both the exact lookup and
 * directory-prefix `LIKE 'dir/%'` checks in any collation. Incomplete publications are found by
 * task for cleanup.
 */
export class ContentServingIndexes1763790600000 implements MigrationInterface {
  name = 'ContentServingIndexes1763790600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "core_contentartifact_relative_path_idx" ON "core_contentartifact" ("relative_path" text_pattern_ops)');
    await q.query('CREATE INDEX "core_publication_task_idx" ON "core_publication" ("task_id") WHERE NOT "complete"');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS "core_publication_task_idx"');
    await q.query('DROP INDEX IF EXISTS "core_contentartifact_relative_path_idx"');
  }
}
