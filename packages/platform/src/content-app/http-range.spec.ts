import { ifRangeMatches, noneMatch, notModifiedSince, parseRange } from './http-range';

describe('parseRange', () => {
  it('parses single ranges, open ranges and suffixes, clamping the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=90-1000', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange(' Bytes = 5 - 5 ', 100)).toEqual({ start: 5, end: 5 });
  });

  it('reports ranges outside the body as unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=100-200', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-5', 0)).toBe('unsatisfiable');
  });

  it('ignores what it does not serve: several ranges, other units, bad syntax', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange('bytes=5-1', 100)).toBeNull();
    expect(parseRange('bytes=-', 100)).toBeNull();
    expect(parseRange('bytes=abc', 100)).toBeNull();
    expect(parseRange('bytes=1234567890123456-', 100)).toBeNull();
  });
});

describe('conditional headers', () => {
  const lm = new Date('2025-01-02T03:04:05.678Z');
  it('If-None-Match compares weakly and accepts *', () => {
    expect(noneMatch('"abc"', 'abc')).toBe(true);
    expect(noneMatch('W/"abc", "x"', 'abc')).toBe(true);
    expect(noneMatch('"x"', 'abc')).toBe(false);
    expect(noneMatch('*', 'abc')).toBe(true);
    expect(noneMatch(undefined, 'abc')).toBe(false);
  });
  it('If-Range needs a strong match or an unchanged date', () => {
    expect(ifRangeMatches(undefined, 'abc', lm)).toBe(true);
    expect(ifRangeMatches('"abc"', 'abc', lm)).toBe(true);
    expect(ifRangeMatches('"old"', 'abc', lm)).toBe(false);
    expect(ifRangeMatches('W/"abc"', 'abc', lm)).toBe(false);
    expect(ifRangeMatches(lm.toUTCString(), 'abc', lm)).toBe(true);
    expect(ifRangeMatches('Thu, 01 Jan 2015 00:00:00 GMT', 'abc', lm)).toBe(false);
  });
  it('If-Modified-Since works at one-second precision', () => {
    expect(notModifiedSince(lm.toUTCString(), lm)).toBe(true);
    expect(notModifiedSince('Thu, 01 Jan 2015 00:00:00 GMT', lm)).toBe(false);
    expect(notModifiedSince('garbage', lm)).toBe(false);
  });
});
