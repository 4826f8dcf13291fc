import { entryUrl, entryUrlResolver, manifestNameFromUrl } from './file-urls';

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

  it('resolves many entries exactly as the URL parser would, credentials and ports included', () => {
    const paths = ['a/b.txt', "x/(1)!~*'.iso", 'sp ace/ü/€.bin', 'q?#%/h\\b', 'a,b/c;d=e&f', '%2e%2e/x', 'dir/.hidden'];
    for (const m of ['http://u:p@h:8/r/s/PULP_MANIFEST?sig=a%20b&x=1#f', 'https://h/PULP_MANIFEST', 'file:///srv/r/M']) {
      const resolve = entryUrlResolver(new URL(m));
      for (const p of paths) {
        const u = new URL(m);
        u.hash = '';
        u.pathname = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1) + p.split('/').map(encodeURIComponent).join('/');
        expect(resolve(p)).toBe(u.href);
      }
    }
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
