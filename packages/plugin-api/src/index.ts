export * from './plugin';
export * from './serialized';
export * from './filters';
export * from './content-type';
export * from './resource-types';
export * from './api-route';
export * from './task';
export * from './task-services';
