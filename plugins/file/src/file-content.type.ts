import { TaskError, type ContentTypeDefinition } from '@pith/plugin-api';
import { FileContent } from './file-content.entity';
import { relativePathProblem } from './file-paths';

/**
 * Content type `file.file` (`content/file/files/`): a file at a relative path, identified by
 * (relative_path, sha256); a newer file at the same path replaces the older one in a version.
 */
export const fileContentType: ContentTypeDefinition = {
  type: 'file',
  endpoint: 'files',
  entity: FileContent,
  schemaName: 'file.FileContent',
  naturalKey: ['relative_path', 'digest'],
  repositoryKey: ['relative_path'],
  artifacts: 'one',
  serialize: (d) => ({ relative_path: d.relative_path, digest: d.digest }),
  filters: {
    relative_path: {
      column: 'relative_path',
      type: 'string',
      lookups: ['iexact', 'in', 'contains', 'icontains', 'startswith', 'istartswith', 'ne'],
    },
    digest: { column: 'digest', type: 'string', lookups: ['in'] },
    sha256: { column: 'digest', type: 'string', lookups: ['in'] },
  },
  validateCreate(fields) {
    const problem = fields.relative_path === undefined ? 'This field is required.' : relativePathProblem(fields.relative_path);
    return problem ? { relative_path: [problem] } : null;
  },
  fromArtifact(fields, artifact) {
    // Re-checked here: the task may come from an older API process or a hand-made payload.
    const problem = fields.relative_path === undefined ? 'relative_path is required.' : relativePathProblem(fields.relative_path);
    if (problem) throw new TaskError(`Invalid relative_path: ${problem}`);
    const relativePath = fields.relative_path as string;
    return { detail: { relative_path: relativePath, digest: artifact.sha256 }, relativePath };
  },
};
