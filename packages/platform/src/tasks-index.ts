import type { TaskDefinition } from '@pith/plugin-api';
import type { Platform } from './platform';

/** Core task handlers (plugins bring their own through their definition). One line per area. */
export function coreTasks(p: Platform): TaskDefinition<any>[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  void p;
  return [
    // area task lists are appended here
  ];
}
