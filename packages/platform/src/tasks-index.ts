import type { TaskDefinition } from '@pith/plugin-api';
import type { Platform } from './platform';
import { uploadCommitTask } from './uploads/upload-commit.task';
import { orphanCleanupTask } from './orphans/orphan-cleanup.task';
import { purgeTaskDefinition } from './tasking/task-purge.task';
import { repositoryTasks } from './repositories/repository-tasks';
import { contentCreateTask } from './content/content-create.task';
import { importExportTasks } from './import-export/import-export-tasks';

/** Core task handlers (plugins bring their own through their definition). One line per area. */
export function coreTasks(p: Platform): TaskDefinition<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  void p;
  return [
    // area task lists are appended here
    uploadCommitTask(p),
    orphanCleanupTask(p),
    purgeTaskDefinition(),
    ...repositoryTasks(p), contentCreateTask(p),
    ...importExportTasks(p),
  ];
}
