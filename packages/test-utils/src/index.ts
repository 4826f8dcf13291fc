export * from './test-platform';
export * from './test-thing.plugin';
export * from './task-test.plugin';
export * from './files-under';
