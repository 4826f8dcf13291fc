import type { PluginDefinition } from '@pith/plugin-api';
import type { DataSource } from 'typeorm';
import { loadConfig, type PithConfig } from '../config/pith-config';
import { createDataSource } from '../db/data-source';
import { Platform } from '../platform';

type PlatformCtor = new (config: PithConfig, dataSource: DataSource, plugins: PluginDefinition[], role: string) => Platform;

/**
 * A Platform whose data source is never initialized: enough to list endpoints and build the
 * OpenAPI document (scripts/write-openapi.js, unit specs). Endpoint factories must not touch the
 * database while being listed, so any query attempted here fails loudly.
 */
export function createOfflinePlatform(plugins: PluginDefinition[], config: PithConfig = loadConfig({})): Platform {
  const ds = createDataSource(config.DATABASE_URL, plugins);
  // The constructor is private so processes go through Platform.create; building the document
  // offline is the one legitimate exception.
  return new (Platform as unknown as PlatformCtor)(config, ds, plugins, 'openapi');
}
