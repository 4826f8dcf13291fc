import { relativePathProblem } from './file-paths';

/**
 * Where a manifest entry lives upstream: its relative path (each segment percent-encoded)
 * resolved against the manifest URL's directory. The manifest URL's query string is kept (signed
 * URLs sign the whole tree); its fragment is dropped.
 */
export function entryUrl(manifestUrl: URL, relativePath: string): string {
  return entryUrlResolver(manifestUrl)(relativePath);
}

/** Characters encodeURIComponent keeps as they are, and the separator: such paths need no encoding. */
const PLAIN_PATH = /^[A-Za-z0-9\-_.!~*'()/]*$/;

const encodePath = (relativePath: string): string =>
  PLAIN_PATH.test(relativePath) ? relativePath : relativePath.split('/').map(encodeURIComponent).join('/');

/**
 * `entryUrl` for many entries of one manifest: the URL is parsed once and each entry's URL is the
 * directory prefix + encoded path + query (parsing a URL per entry was a visible share of a
 * 10k-entry re-sync). Equivalent because every character left in an encoded path is one the URL
 * parser keeps as is, and manifest paths never hold `.`/`..` segments (relativePathProblem).
 */
export function entryUrlResolver(manifestUrl: URL): (relativePath: string) => string {
  const u = new URL(manifestUrl.href);
  u.hash = '';
  u.pathname = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  const search = u.search;
  const prefix = u.href.slice(0, u.href.length - search.length);
  return (relativePath) => prefix + encodePath(relativePath) + search;
}

/** The manifest's file name in a URL (`…/PULP_MANIFEST` → `PULP_MANIFEST`), or `fallback` when unusable. */
export function manifestNameFromUrl(url: string, fallback: string): string {
  let segment: string;
  try {
    segment = new URL(url).pathname.split('/').pop() ?? '';
    segment = decodeURIComponent(segment);
  } catch {
    return fallback;
  }
  return segment && !relativePathProblem(segment) ? segment : fallback;
}
