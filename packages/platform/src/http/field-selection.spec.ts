import { applyFieldSelection, readFieldSelection, selectFields } from './field-selection';

describe('fields / exclude_fields', () => {
  const obj = { pulp_href: '/h/', name: 'n', state: 's', error: null };

  it('reads comma-separated and repeated parameters', () => {
    const sel = readFieldSelection({ fields: ['pulp_href,name', 'state'], exclude_fields: 'error' });
    expect([...sel.fields!]).toEqual(['pulp_href', 'name', 'state']);
    expect([...sel.exclude!]).toEqual(['error']);
    expect(readFieldSelection({ fields: '' })).toEqual({ fields: undefined, exclude: undefined });
  });

  it('keeps selected keys in their original order, ignores unknown names, then excludes', () => {
    expect(selectFields(obj, { fields: new Set(['state', 'pulp_href', 'bogus']) })).toEqual({ pulp_href: '/h/', state: 's' });
    expect(Object.keys(selectFields(obj, { fields: new Set(['state', 'pulp_href']) }))).toEqual(['pulp_href', 'state']);
    expect(selectFields(obj, { exclude: new Set(['error', 'name']) })).toEqual({ pulp_href: '/h/', state: 's' });
    expect(selectFields(obj, { fields: new Set(['name', 'state']), exclude: new Set(['state']) })).toEqual({ name: 'n' });
    expect(selectFields(obj, {})).toBe(obj);
  });

  it('applies to each result of a page, or to a single object', () => {
    const page = { count: 1, next: null, previous: null, results: [obj] };
    expect(applyFieldSelection(page, { fields: 'name' })).toEqual({ count: 1, next: null, previous: null, results: [{ name: 'n' }] });
    expect(applyFieldSelection(obj, { exclude_fields: 'pulp_href,state,error' })).toEqual({ name: 'n' });
    expect(applyFieldSelection(page, {})).toBe(page);
  });
});
