import { countsFromRows, isEmptyChange, nextPresent, readSummary, totalCount } from './version-summary';

describe('version summary arithmetic', () => {
  it('turns grouped rows into sorted counts and drops zeros', () => {
    expect(countsFromRows([{ pulp_type: 'b.b', n: '2' }, { pulp_type: 'a.a', n: 1 }, { pulp_type: 'c.c', n: 0 }])).toEqual({ 'a.a': 1, 'b.b': 2 });
    expect(Object.keys(countsFromRows([{ pulp_type: 'b.b', n: 2 }, { pulp_type: 'a.a', n: 1 }]))).toEqual(['a.a', 'b.b']);
  });

  it('computes present incrementally', () => {
    expect(nextPresent({ 'f.f': 10, 'r.r': 2 }, { 'f.f': 3, 'x.x': 1 }, { 'r.r': 2, 'f.f': 1 })).toEqual({ 'f.f': 12, 'x.x': 1 });
  });

  it('refuses to go negative (a bookkeeping bug must not be hidden)', () => {
    expect(() => nextPresent({ 'f.f': 1 }, {}, { 'f.f': 2 })).toThrow(/underflow/);
  });

  it('detects an empty change and totals', () => {
    expect(isEmptyChange({}, {})).toBe(true);
    expect(isEmptyChange({ a: 1 }, {})).toBe(false);
    expect(totalCount({ a: 2, b: 3 })).toBe(5);
    expect(totalCount(undefined)).toBe(0);
  });

  it('reads partial stored summaries', () => {
    expect(readSummary({ present: { a: 1 } })).toEqual({ added: {}, removed: {}, present: { a: 1 } });
    expect(readSummary(null)).toEqual({ added: {}, removed: {}, present: {} });
  });
});
