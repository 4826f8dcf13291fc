// Dev helper: prints the SQL that makes an empty database match the entities (for writing migrations).
import 'reflect-metadata';
import { createDataSource, ensureDatabase } from '../src/db/data-source';

async function main() {
  const url = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/pith_schema_gen';
  await ensureDatabase(url);
  const ds = createDataSource(url, []);
  await ds.initialize();
  const log = await ds.driver.createSchemaBuilder().log();
  for (const q of log.upQueries) console.log(q.query + ';');
  await ds.destroy();
}
main().catch((e) => { console.error(e); process.exit(1); });
