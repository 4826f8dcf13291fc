export * from './task-dispatcher.service';
export * from './task-worker';
export * from './task-runner';
export * from './task-claim';
export * from './worker-reaper';
export * from './redis';
