import type { PluginDefinition } from '@pith/plugin-api';
import type { DataSource } from 'typeorm';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { PithConfig } from './config/pith-config';
import { FieldCipher } from './config/field-cipher';
import { Logger, type LogLevel } from './logging/logger';
import { Db } from './db/db';
import { createDataSource } from './db/data-source';
import { PluginRegistry } from './plugins/plugin-registry';
import { BasicAuthenticator } from './http/auth';
import { StatusService } from './api/status.service';
import { TaskDispatcher } from './tasking/task-dispatcher.service';
import { wakeQueueName } from './tasking/redis';
import { discardIncompleteVersions } from './repositories/version.service';
import { coreTasks } from './tasks-index';
import { ArtifactStorageService } from './storage/artifact-storage.service';
import { UploadService } from './uploads/upload.service';
import { DetailTables } from './resources/detail-tables';
import { RepositoryVersionService } from './repositories/version.service';
import { ContentStoreService } from './content/content-store.service';
import { PlatformSyncService } from './sync/sync.service';
import { PublicationsService } from './publications/publication.service';
import type { TaskServices } from '@pith/plugin-api';

/** Called with a task id when that task failed or was abandoned: removes what it left incomplete. */
export type TaskCleanupHook = (taskId: string, db: Db) => Promise<void>;

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
  readonly tasks: TaskDispatcher;
  readonly status: StatusService;
  readonly artifacts: ArtifactStorageService;
  readonly uploads: UploadService;
  /** Plugin detail-table layouts (master/detail resources and content). */
  readonly detailTables: DetailTables;
  /** Repository versions (plugin-api VersionService); bind to a task with `versions.forTask(id)`. */
  readonly versions: RepositoryVersionService;
  /** Content saving with natural-key dedupe (plugin-api ContentStore). */
  readonly content: ContentStoreService;
  /** Publications (plugin-api PublicationService via `publications.forTask(id)`). */
  readonly publications: PublicationsService;
  /** Sync pipeline and downloaders (plugin-api SyncService; tasks get `sync.forTask(id)`). */
  readonly sync: PlatformSyncService;
  /** Encryption at rest of secret columns (remote credentials). */
  readonly secrets: FieldCipher;
  private readonly cleanupHooks: TaskCleanupHook[] = [];

  private constructor(
    readonly config: PithConfig,
    readonly dataSource: DataSource,
    plugins: PluginDefinition[],
    readonly role: string,
  ) {
    this.logger = new Logger(role, config.PITH_LOG_LEVEL as LogLevel);
    this.secrets = new FieldCipher(config.dbEncryptionKeyFile);
    this.db = new Db(dataSource);
    this.registry = new PluginRegistry(plugins);
    this.auth = new BasicAuthenticator(this.db);
    this.tasks = new TaskDispatcher(this.db, this.registry, config.REDIS_URL, this.logger, wakeQueueName(config.DATABASE_URL));
    this.status = new StatusService(config, this.db, this.registry, this.logger);
    this.artifacts = new ArtifactStorageService(this.db, config.mediaRoot, config.PITH_ALLOWED_CONTENT_CHECKSUMS, this.logger);
    this.uploads = new UploadService(this.db, this.artifacts, this.logger);
    this.detailTables = new DetailTables(this.db, dataSource);
    this.versions = new RepositoryVersionService(this.db, this.registry, this.detailTables, this.logger);
    this.content = new ContentStoreService(this.db, this.registry, this.detailTables);
    this.publications = new PublicationsService(this);
    this.sync = new PlatformSyncService({
      db: this.db, registry: this.registry, detailTables: this.detailTables, artifacts: this.artifacts, content: this.content,
      versions: this.versions, logger: this.logger, allowedImportPaths: config.PITH_ALLOWED_IMPORT_PATHS,
      secrets: this.secrets,
    });
    // A failed, canceled or abandoned task never leaves an incomplete version behind.
    this.onTaskCleanup((taskId, db) => discardIncompleteVersions(db, taskId).then(() => undefined));
    // Service construction by area goes above this line; core tasks register last.
    for (const t of coreTasks(this)) this.registry.addTask(t);
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

  /** Services a task handler sees (plugin-api TaskServices), bound to that task. */
  taskServices(taskId: string): TaskServices {
    void taskId;
    const db = this.db;
    return Object.defineProperties({} as TaskServices, {
      db: { get: () => db },
      artifacts: { get: () => this.artifacts },
      content: { get: () => this.content },
      versions: { get: () => this.versions.forTask(taskId) },
      sync: { get: () => this.sync.forTask(taskId) },
      publications: { get: () => this.publications.forTask(taskId) },
    });
  }

  /** Registers cleanup to run when a task fails, is canceled, or its worker dies. */
  onTaskCleanup(hook: TaskCleanupHook): void {
    this.cleanupHooks.push(hook);
  }

  async runTaskCleanup(taskId: string, db: Db = this.db): Promise<void> {
    for (const hook of this.cleanupHooks) await hook(taskId, db);
  }

  componentVersions(): Record<string, string> {
    return this.registry.componentVersions(PULP_CORE_COMPATIBLE_VERSION);
  }

  async close(): Promise<void> {
    await this.tasks.close();
    await this.status.close();
    await this.sync.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
