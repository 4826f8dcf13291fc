import { CoreInitial1763790000000 } from './1763790000000-core-initial';
import { TaskApiIndexes1763790200000 } from './1763790200000-task-api-indexes';
import { RepositoryContentAddedIndex1763790300000 } from './1763790300000-repository-content-added-index';

export const CORE_MIGRATIONS = [CoreInitial1763790000000, TaskApiIndexes1763790200000, RepositoryContentAddedIndex1763790300000];
