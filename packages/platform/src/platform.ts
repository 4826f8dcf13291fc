import type { PluginDefinition } from '@pith/plugin-api';
import type { DataSource } from 'typeorm';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { PithConfig } from './config/pith-config';
import { Logger, type LogLevel } from './logging/logger';
import { Db } from './db/db';
import { createDataSource } from './db/data-source';
import { PluginRegistry } from './plugins/plugin-registry';
import { BasicAuthenticator } from './http/auth';

/** Advertised Pulp component version (clients gate features on it; see reference/pulp-clients.md §2). */
export const PULP_CORE_COMPATIBLE_VERSION = '3.90.0';
/** Pith's own release. */
export const PITH_VERSION = '0.1.0';

/**
 * The composition root of the platform's services for one process. Every role (api, content,
 * worker) builds one; services are plain classes wired here so tests and processes share wiring.
 */
export class Platform {
  readonly logger: Logger;
  readonly db: Db;
  readonly registry: PluginRegistry;
  readonly auth: BasicAuthenticator;

  private constructor(
    readonly config: PithConfig,
    readonly dataSource: DataSource,
    plugins: PluginDefinition[],
    readonly role: string,
  ) {
    this.logger = new Logger(role, config.PITH_LOG_LEVEL as LogLevel);
    this.db = new Db(dataSource);
    this.registry = new PluginRegistry(plugins);
    this.auth = new BasicAuthenticator(this.db);
  }

  static async create(config: PithConfig, plugins: PluginDefinition[], role: string): Promise<Platform> {
    const ds = createDataSource(config.DATABASE_URL, plugins);
    await ds.initialize();
    return new Platform(config, ds, plugins, role);
  }

  /** A fresh temp file path on the media filesystem (so renames into storage are atomic). */
  tempPath(): string {
    return path.join(this.config.mediaRoot, 'tmp', randomUUID());
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
