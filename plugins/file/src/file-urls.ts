import { relativePathProblem } from './file-paths';

/**
 * Where a manifest entry lives upstream: its relative path (each segment percent-encoded)
 * resolved against the manifest URL's directory. The manifest URL's query string is kept (signed
 * URLs sign the whole tree); its fragment is dropped.
 */
export function entryUrl(manifestUrl: URL, relativePath: string): string {
  const u = new URL(manifestUrl.href);
  u.hash = '';
  const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  u.pathname = dir + relativePath.split('/').map(encodeURIComponent).join('/');
  return u.href;
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
