// A real worker process for tests that kill workers (-9). Started with `node -r @swc-node/register`.
import 'reflect-metadata';
import { Platform, TaskWorker, loadConfig } from '@pith/platform';
import { testPlugin } from './test-thing.plugin';
import { taskTestPlugin } from './task-test.plugin';

async function main() {
  const config = loadConfig();
  const p = await Platform.create(config, [testPlugin, taskTestPlugin], 'worker');
  const w = new TaskWorker(p, process.env.PITH_TEST_WORKER_NAME);
  await w.start();
  process.stdout.write('ready\n');
}
main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
