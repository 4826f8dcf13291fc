import { coverageProblem, parseContentRange } from './content-range';

describe('parseContentRange', () => {
  it('parses ranges with a total or *', () => {
    expect(parseContentRange('bytes 0-999/2500')).toEqual({ start: 0, end: 999, total: 2500 });
    expect(parseContentRange('bytes 1000-1999/*')).toEqual({ start: 1000, end: 1999, total: null });
  });

  it.each([undefined, '', 'bytes=0-9/10', 'bytes 0-9', 'items 0-9/10', 'bytes -1-9/10', 'bytes 0-9/abc', 'bytes 1.5-9/10'])(
    'rejects malformed %p',
    (h) => {
      expect(parseContentRange(h)).toEqual({ error: 'Invalid or missing content range header.' });
    },
  );

  it('rejects inconsistent ranges', () => {
    expect(parseContentRange('bytes 10-9/100')).toHaveProperty('error');
    expect(parseContentRange('bytes 0-100/100')).toHaveProperty('error');
    expect(parseContentRange('bytes 0-9999999999999999/*')).toHaveProperty('error');
  });
});

describe('coverageProblem', () => {
  it('accepts an exact cover (and an empty upload)', () => {
    expect(coverageProblem([{ offset: 0, size: 5 }, { offset: 5, size: 5 }], 10)).toBeNull();
    expect(coverageProblem([], 0)).toBeNull();
  });

  it('names the gaps', () => {
    expect(coverageProblem([{ offset: 5, size: 3 }], 10)).toBe('The upload is incomplete: no chunk covers bytes 0-4, 8-9 of 10.');
    expect(coverageProblem([], 3)).toContain('0-2');
  });

  it('detects overlaps and overruns', () => {
    expect(coverageProblem([{ offset: 0, size: 6 }, { offset: 5, size: 5 }], 10)).toContain('overlap');
    expect(coverageProblem([{ offset: 0, size: 11 }], 10)).toContain('beyond');
  });
});
