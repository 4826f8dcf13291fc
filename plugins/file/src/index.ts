import { definePlugin } from '@pith/plugin-api';
import { FileContent } from './file-content.entity';
import { FileRepository } from './file-repository.entity';
import { FileRemote } from './file-remote.entity';
import { FilePublication } from './file-publication.entity';
import { FileInitial1763800000000 } from './migrations/1763800000000-file-initial';
import { fileContentType } from './file-content.type';
import { FileRepositoryDto } from './file-repository.dto';
import { FileSyncDto } from './file-sync.dto';
import { FilePublicationDto } from './file-publication.dto';
import { FILE_SYNC_TASK, fileSyncTask } from './file-sync.task';
import { FILE_PUBLISH_TASK, filePublishTask } from './file-publish.task';
import { fileContentResource } from './file-content.resource';
import { fileRepositoryResource } from './file-repository.resource';

export { FileContent, FileRepository, FileRemote, FilePublication };
export { FILE_SYNC_TASK, FILE_PUBLISH_TASK };
export { parseManifestLine, manifestEntries, formatManifestLine } from './file-manifest';
export { relativePathProblem } from './file-paths';

/**
 * The `file` plugin (pulp_file compatible): plain files listed in a PULP_MANIFEST
 * (`relative_path,sha256,size` per line), synced from a remote, published with a generated
 * manifest and served by relative path.
 */
export default definePlugin({
  apiVersion: 1,
  id: 'file',
  version: '3.90.0',
  packageName: 'pulp-file',
  entities: [FileContent, FileRepository, FileRemote, FilePublication],
  migrations: [FileInitial1763800000000],
  contentTypes: [fileContentType],
  repositoryTypes: [
    {
      type: 'file',
      entity: FileRepository,
      dto: FileRepositoryDto,
      // last_sync_details is internal bookkeeping, not part of Pulp's FileRepository serializer.
      serialize: (d) => ({ autopublish: d.autopublish, manifest: d.manifest }),
      contentTypes: ['file.file'],
      remoteTypes: ['file.file'],
      syncTask: FILE_SYNC_TASK,
      syncDto: FileSyncDto,
    },
  ],
  remoteTypes: [{ type: 'file', entity: FileRemote, policies: ['immediate', 'on_demand', 'streamed'] }],
  publicationTypes: [
    {
      type: 'file',
      entity: FilePublication,
      dto: FilePublicationDto,
      serialize: (d) => ({ manifest: d.manifest }),
      publishTask: FILE_PUBLISH_TASK,
    },
  ],
  distributionTypes: [{ type: 'file', serveFromPublication: true }],
  tasks: [fileSyncTask, filePublishTask],
  // Import/export: the repository's settings first (applied when an import creates it), then units.
  exportable: { repositoryTypes: ['file.file'], IMPORT_ORDER: [fileRepositoryResource, fileContentResource] },
});
