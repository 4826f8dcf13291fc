/**
 * Declarative list filters. The platform turns each into SQL and into OpenAPI query parameters,
 * and rejects any query parameter that is not declared (Pulp's `Invalid Filter`).
 */
export type FilterLookup =
  | 'exact' | 'iexact' | 'in' | 'contains' | 'icontains' | 'startswith' | 'istartswith'
  | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'range' | 'isnull';

export interface FieldFilter {
  /** Column on the detail table (or master table when `master` is set). */
  column: string;
  type: 'string' | 'integer' | 'boolean' | 'datetime' | 'uuid';
  /** Lookups besides `exact`, exposed as `<name>__<lookup>`. */
  lookups?: FilterLookup[];
  master?: boolean;
}

export type FilterSet = Record<string, FieldFilter>;
