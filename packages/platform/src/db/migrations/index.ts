import { CoreInitial1763790000000 } from './1763790000000-core-initial';

export const CORE_MIGRATIONS = [CoreInitial1763790000000];
