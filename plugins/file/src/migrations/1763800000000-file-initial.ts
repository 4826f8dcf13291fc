import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The file plugin's tables. Every detail table's primary key is the master row's id and goes
 * with it (ON DELETE CASCADE), so deleting through core never leaves a detail row behind.
 */
export class FileInitial1763800000000 implements MigrationInterface {
  name = 'FileInitial1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "file_filecontent" (
      "content_ptr_id" uuid PRIMARY KEY REFERENCES "core_content"("pulp_id") ON DELETE CASCADE,
      "relative_path" text NOT NULL,
      "digest" character varying(64) NOT NULL)`);
    await q.query('CREATE UNIQUE INDEX "file_filecontent_natural_key" ON "file_filecontent" ("relative_path", "digest")');
    await q.query('CREATE INDEX "file_filecontent_digest_idx" ON "file_filecontent" ("digest")');
    await q.query(`CREATE TABLE "file_filerepository" (
      "repository_ptr_id" uuid PRIMARY KEY REFERENCES "core_repository"("pulp_id") ON DELETE CASCADE,
      "autopublish" boolean NOT NULL DEFAULT false,
      "manifest" text DEFAULT 'PULP_MANIFEST',
      "last_sync_details" jsonb)`);
    await q.query(`CREATE TABLE "file_fileremote" (
      "remote_ptr_id" uuid PRIMARY KEY REFERENCES "core_remote"("pulp_id") ON DELETE CASCADE)`);
    await q.query(`CREATE TABLE "file_filepublication" (
      "publication_ptr_id" uuid PRIMARY KEY REFERENCES "core_publication"("pulp_id") ON DELETE CASCADE,
      "manifest" text)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "file_filepublication"');
    await q.query('DROP TABLE "file_fileremote"');
    await q.query('DROP TABLE "file_filerepository"');
    await q.query('DROP TABLE "file_filecontent"');
  }
}
