import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes the tasks API needs: `child_tasks` serialization, the `parent_task` filter and the
 * ON DELETE SET NULL of purged parents look tasks up by parent; purge walks `finished_at`.
 */
export class TaskApiIndexes1763790200000 implements MigrationInterface {
  name = 'TaskApiIndexes1763790200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX IF NOT EXISTS "core_task_parent_idx" ON "core_task" ("parent_task_id") WHERE parent_task_id IS NOT NULL');
    await q.query('CREATE INDEX IF NOT EXISTS "core_task_finished_idx" ON "core_task" ("finished_at") WHERE finished_at IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS "core_task_finished_idx"');
    await q.query('DROP INDEX IF EXISTS "core_task_parent_idx"');
  }
}
