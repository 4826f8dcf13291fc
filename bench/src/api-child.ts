// The API as its own process, so the benchmark measures the RSS of an API process only.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Platform, createApiApp, loadConfig } from '@pith/platform';
import { testPlugin } from '@pith/test-utils';

async function main(): Promise<void> {
  const config = loadConfig();
  const p = await Platform.create(config, [testPlugin], 'api');
  const app = await createApiApp(p);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  process.stdout.write(`port ${port}\n`);
  const stop = async () => {
    await app.close();
    await p.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
