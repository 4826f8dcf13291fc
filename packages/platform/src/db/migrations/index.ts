import { CoreInitial1763790000000 } from './1763790000000-core-initial';
import { TaskApiIndexes1763790200000 } from './1763790200000-task-api-indexes';
import { RepositoryContentAddedIndex1763790300000 } from './1763790300000-repository-content-added-index';
import { RepositoryVersionSeen1763790400000 } from './1763790400000-repository-version-seen';
import { ContentServingIndexes1763790600000 } from './1763790600000-content-serving-indexes';
import { ImportExport1763790700000 } from './1763790700000-import-export';

export const CORE_MIGRATIONS = [CoreInitial1763790000000, TaskApiIndexes1763790200000, RepositoryContentAddedIndex1763790300000, RepositoryVersionSeen1763790400000, ContentServingIndexes1763790600000, ImportExport1763790700000];
