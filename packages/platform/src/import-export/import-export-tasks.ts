import type { TaskDefinition } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { exportTask } from './export.task';
import { importTask } from './import.task';
import { importRepositoryTask } from './import-repository.task';

/** Task handlers of import/export: the export, an import's parent, and its per-repository children. */
export function importExportTasks(p: Platform): TaskDefinition<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return [exportTask(p), importTask(p), importRepositoryTask(p)];
}
