import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Import/export: Pulp exporters and their exports, importers and their imports (generated from
 * import-export.entity.ts). An exporter and its last export reference each other: deleting the
 * exporter cascades to its exports, deleting an export only clears `last_export_id`.
 */
export class ImportExport1763790700000 implements MigrationInterface {
  name = 'ImportExport1763790700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query("CREATE TABLE \"core_pulpexporter\" (\"pulp_id\" uuid NOT NULL, \"pulp_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"pulp_last_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"name\" text NOT NULL, \"path\" text NOT NULL, \"last_export_id\" uuid, CONSTRAINT \"PK_6a163a12fcc63f601d5c5ff2978\" PRIMARY KEY (\"pulp_id\"))");
    await q.query("CREATE UNIQUE INDEX \"core_pulpexporter_name_uniq\" ON \"core_pulpexporter\" (\"name\")");
    await q.query("CREATE TABLE \"core_pulpexporter_repositories\" (\"exporter_id\" uuid NOT NULL, \"repository_id\" uuid NOT NULL, CONSTRAINT \"PK_dfd007eaf994da1f6215aec7d46\" PRIMARY KEY (\"exporter_id\", \"repository_id\"))");
    await q.query("CREATE INDEX \"core_pulpexporter_repositories_repository_idx\" ON \"core_pulpexporter_repositories\" (\"repository_id\")");
    await q.query("CREATE TABLE \"core_pulpexport\" (\"pulp_id\" uuid NOT NULL, \"pulp_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"pulp_last_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"exporter_id\" uuid NOT NULL, \"task_id\" uuid, \"params\" jsonb NOT NULL DEFAULT '{}', \"exported_versions\" jsonb NOT NULL DEFAULT '[]', \"output_file_info\" jsonb, \"toc_info\" jsonb, \"summary\" jsonb, CONSTRAINT \"PK_6f3843e6f07a5798c3583833a9c\" PRIMARY KEY (\"pulp_id\"))");
    await q.query("CREATE INDEX \"core_pulpexport_exporter_idx\" ON \"core_pulpexport\" (\"exporter_id\")");
    await q.query("CREATE INDEX \"core_pulpexport_task_idx\" ON \"core_pulpexport\" (\"task_id\")");
    await q.query("CREATE TABLE \"core_pulpimporter\" (\"pulp_id\" uuid NOT NULL, \"pulp_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"pulp_last_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"name\" text NOT NULL, \"repo_mapping\" jsonb NOT NULL DEFAULT '{}', CONSTRAINT \"PK_7bd1e04148effc17ea7bbc71727\" PRIMARY KEY (\"pulp_id\"))");
    await q.query("CREATE UNIQUE INDEX \"core_pulpimporter_name_uniq\" ON \"core_pulpimporter\" (\"name\")");
    await q.query("CREATE TABLE \"core_pulpimport\" (\"pulp_id\" uuid NOT NULL, \"pulp_created\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"pulp_last_updated\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"importer_id\" uuid NOT NULL, \"task_id\" uuid, \"task_group_id\" uuid, \"params\" jsonb NOT NULL DEFAULT '{}', \"report\" jsonb, CONSTRAINT \"PK_3f25b2b4d5b25fb84ca79a14f6e\" PRIMARY KEY (\"pulp_id\"))");
    await q.query("CREATE INDEX \"core_pulpimport_importer_idx\" ON \"core_pulpimport\" (\"importer_id\")");
    await q.query("CREATE INDEX \"core_pulpimport_task_idx\" ON \"core_pulpimport\" (\"task_id\")");
    await q.query("ALTER TABLE \"core_pulpexporter\" ADD CONSTRAINT \"FK_62ff46a1ae18a5048bc18695a9e\" FOREIGN KEY (\"last_export_id\") REFERENCES \"core_pulpexport\"(\"pulp_id\") ON DELETE SET NULL ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpexporter_repositories\" ADD CONSTRAINT \"FK_6dd61f639fa13ce819487a69f5d\" FOREIGN KEY (\"exporter_id\") REFERENCES \"core_pulpexporter\"(\"pulp_id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpexporter_repositories\" ADD CONSTRAINT \"FK_bb6ab0580d96650dfb8f49b45f9\" FOREIGN KEY (\"repository_id\") REFERENCES \"core_repository\"(\"pulp_id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpexport\" ADD CONSTRAINT \"FK_abfdfa9e3bec6c5b4e785d1a026\" FOREIGN KEY (\"exporter_id\") REFERENCES \"core_pulpexporter\"(\"pulp_id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpexport\" ADD CONSTRAINT \"FK_063edaae05093a68863606ca538\" FOREIGN KEY (\"task_id\") REFERENCES \"core_task\"(\"pulp_id\") ON DELETE SET NULL ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpimport\" ADD CONSTRAINT \"FK_495d2e123050f9ae944220516f8\" FOREIGN KEY (\"importer_id\") REFERENCES \"core_pulpimporter\"(\"pulp_id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpimport\" ADD CONSTRAINT \"FK_2782fd27e082cd9ebf1cbdfb728\" FOREIGN KEY (\"task_id\") REFERENCES \"core_task\"(\"pulp_id\") ON DELETE SET NULL ON UPDATE NO ACTION");
    await q.query("ALTER TABLE \"core_pulpimport\" ADD CONSTRAINT \"FK_8e5ace2f0ec263b5b3fd68f1176\" FOREIGN KEY (\"task_group_id\") REFERENCES \"core_taskgroup\"(\"pulp_id\") ON DELETE SET NULL ON UPDATE NO ACTION");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS "core_pulpimport" CASCADE');
    await q.query('DROP TABLE IF EXISTS "core_pulpimporter" CASCADE');
    await q.query('DROP TABLE IF EXISTS "core_pulpexporter_repositories" CASCADE');
    await q.query('DROP TABLE IF EXISTS "core_pulpexport" CASCADE');
    await q.query('DROP TABLE IF EXISTS "core_pulpexporter" CASCADE');
  }
}
