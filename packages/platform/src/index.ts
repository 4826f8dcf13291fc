import 'reflect-metadata';

export * from './config/pith-config';
export * from './logging/logger';
export * from './db/db';
export * from './db/data-source';
export * from './db/entities';
export * from './http/endpoint';
export * from './http/errors';
export * from './http/hrefs';
export * from './http/auth';
export * from './plugins/plugin-registry';
export * from './platform';
export * from './api/index';
