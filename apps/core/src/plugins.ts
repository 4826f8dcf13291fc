import type { PluginDefinition } from '@pith/plugin-api';
import filePlugin from '@pith/plugin-file';

/**
 * The plugins this deployment loads: the only place that names them (static imports, no discovery
 * by name). A plugin that fails to load fails the boot.
 */
export const PLUGINS: PluginDefinition[] = [filePlugin];
