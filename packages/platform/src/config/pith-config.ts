import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import * as path from 'node:path';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(/[,:]/).map((s) => s.trim()).filter(Boolean) : value;

/**
 * Process configuration, read once from the environment and validated at boot. Every key is
 * documented in docs/configuration.md. Secrets (PITH_ADMIN_PASSWORD) are never logged.
 */
export class PithConfig {
  /** PostgreSQL URL; the database is created if missing. */
  @IsString() @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pith';

  /** Redis URL used to wake workers (BullMQ). */
  @IsString() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PITH_API_PORT = 24817;
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PITH_CONTENT_PORT = 24816;
  @IsString() PITH_BIND_HOST = '127.0.0.1';

  /** Artifact storage root (filesystem). */
  @IsString() PITH_MEDIA_ROOT = './.pith/media';

  /**
   * Key file for secret columns (remote credentials and client keys; config/field-cipher.ts).
   * Empty: `<PITH_MEDIA_ROOT>/keys/database_fields.symmetric.key`, on the storage every process
   * shares already. Created on first use when missing.
   */
  @IsOptional() @IsString() PITH_DB_ENCRYPTION_KEY: string | undefined = undefined;

  /** Origin used for distribution `base_url`s; empty = relative URLs. */
  @IsOptional() @IsString() PITH_CONTENT_ORIGIN: string | undefined = undefined;
  @IsString() @Matches(/^\/.*\/$/, { message: 'PITH_CONTENT_PATH_PREFIX must start and end with /' })
  PITH_CONTENT_PATH_PREFIX = '/pulp/content/';

  /**
   * nginx internal location (e.g. `/pith-media`) aliased to the media root: the content app then
   * answers with `X-Accel-Redirect: <prefix>/artifact/…` and nginx sends the file. Empty = off.
   */
  @IsOptional() @IsString() @Matches(/^\/[A-Za-z0-9._~\/-]*$/, { message: 'PITH_CONTENT_X_ACCEL_REDIRECT must be an absolute URL path' })
  PITH_CONTENT_X_ACCEL_REDIRECT: string | undefined = undefined;

  /**
   * Bytes of content the content app keeps in memory (files up to 1 MiB, least recently used
   * first out; artifacts are immutable, so nothing is invalidated). 0 turns the cache off.
   */
  @Transform(toInt) @IsInt() @Min(0) PITH_CONTENT_MEMORY_CACHE = 32 * 1024 * 1024;

  /** Admin password set at migrate/start when given. */
  @IsOptional() @IsString() PITH_ADMIN_PASSWORD: string | undefined = undefined;

  /** Number of worker processes `pith start` runs. */
  @Transform(toInt) @IsInt() @Min(0) @Max(64) PITH_WORKERS = 2;

  /**
   * Digests computed and stored for every artifact (sha256 is always required). Pulp's default set:
   * kept because Pulp clients and imports read every checksum field. It costs ~6× the hashing CPU
   * of sha256 alone (sha384/512 lack CPU extensions), which matters for large files and little for
   * small ones (docs/configuration.md has the figures); operators can trade it away.
   */
  @Transform(toList) @IsIn(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'], { each: true })
  PITH_ALLOWED_CONTENT_CHECKSUMS: string[] = ['sha224', 'sha256', 'sha384', 'sha512'];

  /** Minutes new content and artifacts are protected from orphan cleanup. */
  @Transform(toInt) @IsInt() @Min(0) PITH_ORPHAN_PROTECTION_TIME = 1440;

  /** Seconds without heartbeat after which a worker is declared missing. */
  @Transform(toInt) @IsInt() @Min(2) PITH_WORKER_TTL = 30;

  /** Largest accepted request body for JSON (bytes); uploads are streamed and not limited by this. */
  @Transform(toInt) @IsInt() @Min(1024) PITH_MAX_JSON_BODY = 10 * 1024 * 1024;

  @Transform(toList) @IsString({ each: true }) PITH_ALLOWED_IMPORT_PATHS: string[] = [];
  @Transform(toList) @IsString({ each: true }) PITH_ALLOWED_EXPORT_PATHS: string[] = [];

  @IsIn(['debug', 'info', 'warn', 'error']) PITH_LOG_LEVEL = 'info';

  get mediaRoot(): string {
    return path.resolve(this.PITH_MEDIA_ROOT);
  }

  get dbEncryptionKeyFile(): string {
    return this.PITH_DB_ENCRYPTION_KEY ? path.resolve(this.PITH_DB_ENCRYPTION_KEY) : path.join(this.mediaRoot, 'keys', 'database_fields.symmetric.key');
  }
}

const KEYS = Object.keys(new PithConfig());

/** Reads and validates configuration; throws one readable error listing every bad key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PithConfig {
  const raw: Record<string, string> = {};
  for (const k of KEYS) {
    const v = env[k];
    if (v !== undefined && v !== '') raw[k] = v;
  }
  const cfg = plainToInstance(PithConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(cfg, { whitelist: false });
  if (errors.length) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (!cfg.PITH_ALLOWED_CONTENT_CHECKSUMS.includes('sha256')) {
    throw new ConfigError('invalid configuration:\n  PITH_ALLOWED_CONTENT_CHECKSUMS: must include sha256');
  }
  return cfg;
}

export class ConfigError extends Error {}
