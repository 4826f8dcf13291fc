import type { ModelResource } from '@pith/plugin-api';

/**
 * `file.file` units: relative_path and digest (the natural key) with the unit's one artifact by
 * sha256 and its labels. The platform's standard content rows carry exactly that.
 */
export const fileContentResource: ModelResource = {
  name: 'file.FileContent',
  kind: 'content',
  pulpType: 'file.file',
  exportRows: (scope) => scope.contentRows('file.file'),
  importRows: (scope, rows) => scope.saveContentRows('file.file', rows),
};
