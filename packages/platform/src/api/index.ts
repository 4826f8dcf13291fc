import type { Endpoint } from '../http/endpoint';
import type { Platform } from '../platform';
import { statusEndpoints } from './status.endpoints';
import { docsEndpoints } from './docs.endpoints';
import { artifactEndpoints } from './artifacts.endpoints';
import { uploadEndpoints } from './uploads.endpoints';
import { orphanEndpoints } from './orphans.endpoints';
import { taskEndpoints } from './tasks.endpoints';
import { taskGroupEndpoints } from './task-groups.endpoints';
import { workerEndpoints } from './workers.endpoints';
import { repositoryEndpoints } from './repositories.endpoints';
import { remoteEndpoints } from './remotes.endpoints';
import { contentEndpoints } from './content.endpoints';
import { genericListEndpoints } from './generic-lists.endpoints';
import { publicationEndpoints } from './publications.endpoints';
import { distributionEndpoints } from './distributions.endpoints';
import { contentGuardEndpoints } from './contentguards.endpoints';
import { exporterEndpoints } from './exporters.endpoints';
import { importerEndpoints } from './importers.endpoints';

/**
 * Every core REST endpoint plus the per-type routes generated from plugin declarations. Each area
 * contributes one factory; order does not matter (paths are literal where types are concerned).
 */
export function buildEndpoints(p: Platform): Endpoint[] {
  void p;
  return [
    // area factories are appended here, one line each
    ...statusEndpoints(p),
    ...docsEndpoints(p),
    ...artifactEndpoints(p),
    ...uploadEndpoints(p),
    ...orphanEndpoints(p),
    ...taskEndpoints(p), ...taskGroupEndpoints(p), ...workerEndpoints(p),
    ...repositoryEndpoints(p), ...remoteEndpoints(p), ...contentEndpoints(p), ...genericListEndpoints(p),
    ...publicationEndpoints(p), ...distributionEndpoints(p), ...contentGuardEndpoints(p),
    ...exporterEndpoints(p),
    ...importerEndpoints(p),
  ];
}
