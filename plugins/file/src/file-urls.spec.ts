import { entryUrl, manifestNameFromUrl } from './file-urls';

describe('entryUrl', () => {
  it('resolves against the manifest directory', () => {
    expect(entryUrl(new URL('http://h:8/repo/PULP_MANIFEST'), 'a/b.txt')).toBe('http://h:8/repo/a/b.txt');
    expect(entryUrl(new URL('https://h/PULP_MANIFEST'), 'x')).toBe('https://h/x');
  });

  it('percent-encodes each segment and cannot leave the directory', () => {
    expect(entryUrl(new URL('http://h/r/M'), 'sp ace/q?#%.txt')).toBe('http://h/r/sp%20ace/q%3F%23%25.txt');
  });

  it('keeps the query string (signed URLs) and drops the fragment', () => {
    expect(entryUrl(new URL('http://h/r/M?sig=abc#frag'), 'f')).toBe('http://h/r/f?sig=abc');
  });

  it('works for file:// manifests', () => {
    expect(entryUrl(new URL('file:///srv/repo/PULP_MANIFEST'), 'a b')).toBe('file:///srv/repo/a%20b');
  });
});

describe('manifestNameFromUrl', () => {
  it('takes the last path segment', () => {
    expect(manifestNameFromUrl('http://h/r/PULP_MANIFEST', 'D')).toBe('PULP_MANIFEST');
    expect(manifestNameFromUrl('http://h/r/my%20list?x=1', 'D')).toBe('my list');
  });

  it('falls back when there is none', () => {
    expect(manifestNameFromUrl('http://h/r/', 'D')).toBe('D');
    expect(manifestNameFromUrl('http://h/r/%2e%2e', 'D')).toBe('D');
    expect(manifestNameFromUrl('not a url', 'D')).toBe('D');
  });
});
