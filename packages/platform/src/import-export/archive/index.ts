/** Archive layer of import/export: chunked output, TOC, chunk verification, tar writer and reader. */
export * from './archive-errors';
export * from './chunk-size';
export * from './chunked-file-writer';
export * from './chunked-reader';
export { digestFile, type ChecksumType } from './file-digest';
export { normalizeMemberName, checkWritableMemberName } from './member-name';
export * from './tar-reader';
export * from './tar-writer';
export * from './toc';
