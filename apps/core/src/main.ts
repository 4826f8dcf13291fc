#!/usr/bin/env node
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  ConfigError, Platform, TaskWorker, createApiApp, createContentServer, loadConfig, migrate,
  setAdminPassword, type PithConfig,
} from '@pith/platform';
import { PLUGINS } from './plugins';
import { preflight } from './preflight';

const USAGE = `usage: pith <command>

commands:
  start                 run migrations, then the API, the content app and PITH_WORKERS workers
  api                   run the REST API (PITH_API_PORT, default 24817)
  content               run the content app (PITH_CONTENT_PORT, default 24816)
  worker                run one task worker
  migrate               create the database if needed and apply migrations
  reset-admin-password  set the admin password (from PITH_ADMIN_PASSWORD or --password X)
`;

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(JSON.stringify({ level: 'info', msg: `received ${sig}, shutting down` }) + '\n');
    stop()
      .then(() => process.exit(0))
      .catch((e) => {
        process.stderr.write(String(e) + '\n');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

function prepareMedia(config: PithConfig): void {
  mkdirSync(path.join(config.mediaRoot, 'tmp'), { recursive: true });
  mkdirSync(path.join(config.mediaRoot, 'artifact'), { recursive: true });
}

async function runApi(config: PithConfig): Promise<void> {
  const p = await Platform.create(config, PLUGINS, 'api');
  const app = await createApiApp(p);
  await app.listen(config.PITH_API_PORT, config.PITH_BIND_HOST);
  p.logger.info('api listening', { url: `http://${config.PITH_BIND_HOST}:${config.PITH_API_PORT}/pulp/api/v3/` });
  onSignals(async () => {
    await app.close();
    await p.close();
  });
}

async function runContent(config: PithConfig): Promise<void> {
  const p = await Platform.create(config, PLUGINS, 'content');
  const content = await createContentServer(p);
  await new Promise<void>((r) => content.server.listen(config.PITH_CONTENT_PORT, config.PITH_BIND_HOST, r));
  p.logger.info('content app listening', { url: `http://${config.PITH_BIND_HOST}:${config.PITH_CONTENT_PORT}${config.PITH_CONTENT_PATH_PREFIX}` });
  onSignals(async () => {
    await content.stop();
    await p.close();
  });
}

async function runWorker(config: PithConfig): Promise<void> {
  const p = await Platform.create(config, PLUGINS, 'worker');
  const worker = new TaskWorker(p);
  await worker.start();
  onSignals(async () => {
    await worker.stop();
    await p.close();
  });
}

async function runMigrate(config: PithConfig): Promise<void> {
  const r = await migrate(config, PLUGINS);
  process.stderr.write(`migrations applied: ${r.applied.length ? r.applied.join(', ') : 'none pending'}\n`);
  if (r.generatedPassword) {
    process.stderr.write(`created user 'admin' with password: ${r.generatedPassword}\n(set PITH_ADMIN_PASSWORD or run 'pith reset-admin-password' to choose one)\n`);
  }
}

/** All roles on one machine: children are restarted if they die, and stopped together. */
async function runStart(config: PithConfig): Promise<void> {
  await runMigrate(config);
  const roles = ['api', 'content', ...Array.from({ length: config.PITH_WORKERS }, () => 'worker')];
  const children = new Set<ChildProcess>();
  let stopping = false;
  const spawn = (role: string) => {
    const child = fork(__filename, [role], { stdio: 'inherit' });
    children.add(child);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      process.stderr.write(JSON.stringify({ level: 'warn', msg: `${role} exited (${signal ?? code}); restarting` }) + '\n');
      setTimeout(() => spawn(role), 1000).unref();
    });
  };
  roles.forEach(spawn);
  process.stderr.write(
    `pith started: API http://${config.PITH_BIND_HOST}:${config.PITH_API_PORT}/pulp/api/v3/, content http://${config.PITH_BIND_HOST}:${config.PITH_CONTENT_PORT}${config.PITH_CONTENT_PATH_PREFIX}, ${config.PITH_WORKERS} workers\n`,
  );
  onSignals(async () => {
    stopping = true;
    const exits = [...children].map((c) => new Promise<void>((r) => c.once('exit', () => r())));
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 20_000))]);
    for (const c of children) c.kill('SIGKILL');
  });
  await new Promise(() => undefined);
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    process.exit(command ? 0 : 2);
  }
  const config = loadConfig();
  await preflight(config);
  prepareMedia(config);
  switch (command) {
    case 'start': return runStart(config);
    case 'api': return runApi(config);
    case 'content': return runContent(config);
    case 'worker': return runWorker(config);
    case 'migrate': return runMigrate(config);
    case 'reset-admin-password': {
      const i = process.argv.indexOf('--password');
      const pw = i > 0 ? process.argv[i + 1] : config.PITH_ADMIN_PASSWORD;
      if (!pw) throw new ConfigError('give the new password with --password X or PITH_ADMIN_PASSWORD');
      await runMigrate(config);
      const p = await Platform.create(config, PLUGINS, 'cli');
      await setAdminPassword(p.db, pw);
      await p.close();
      process.stderr.write("admin password updated\n");
      return;
    }
    default:
      process.stderr.write(`pith: unknown command '${command}'\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e) => {
  process.stderr.write(`pith: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
