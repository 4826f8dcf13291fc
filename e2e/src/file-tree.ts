import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** One file of an upstream file repository (a PULP_MANIFEST line). */
export interface TreeEntry {
  relativePath: string;
  sha256: string;
  size: number;
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface TreeOptions {
  count: number;
  /** Inclusive size bounds in bytes; equal bounds give fixed-size files. */
  minSize: number;
  maxSize: number;
  /** Distinguishes the paths of trees written into the same folder. */
  prefix?: string;
  /** Paths with spaces, commas, `%`, `#` and non-ASCII characters every n-th file (0 = never). */
  oddNamesEvery?: number;
}

/** The relative path of the i-th file: nested 2–3 directories deep, a few awkward names. */
function entryPath(i: number, o: TreeOptions): string {
  const pre = o.prefix ? `${o.prefix}/` : '';
  const odd = o.oddNamesEvery && i % o.oddNamesEvery === 0;
  const dir = `d${(i % 16).toString(16)}/s${i % 7}${i % 3 === 0 ? `/t${i % 5}` : ''}`;
  return odd ? `${pre}${dir}/odd name, ü%20#${i}.bin` : `${pre}${dir}/f${i}.bin`;
}

/** Writes `count` files of random content and sizes under `root`; returns their manifest entries. */
export function writeTree(root: string, o: TreeOptions): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (let i = 0; i < o.count; i++) {
    const relativePath = entryPath(i, o);
    const size = o.minSize === o.maxSize ? o.minSize : randomInt(o.minSize, o.maxSize + 1);
    const body = randomBytes(size);
    const file = path.join(root, relativePath);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
    entries.push({ relativePath, sha256: sha256(body), size });
  }
  return entries;
}

/** The PULP_MANIFEST text of these entries (`relative_path,sha256,size`; pulp_file quotes no field). */
export function manifestText(entries: Iterable<TreeEntry>): string {
  let s = '';
  for (const e of entries) s += `${e.relativePath},${e.sha256},${e.size}\n`;
  return s;
}

export function writeManifest(root: string, entries: Iterable<TreeEntry>, name = 'PULP_MANIFEST'): void {
  writeFileSync(path.join(root, name), manifestText(entries));
}

/** Replaces a file's bytes (new random content, same size) and returns its new entry. */
export function rewriteFile(root: string, e: TreeEntry, size = e.size): TreeEntry {
  const body = randomBytes(size);
  writeFileSync(path.join(root, e.relativePath), body);
  return { relativePath: e.relativePath, sha256: sha256(body), size };
}

export function removeFile(root: string, e: TreeEntry): void {
  rmSync(path.join(root, e.relativePath), { force: true });
}

export function fileSha256(file: string): string {
  return sha256(readFileSync(file));
}

/** A URL path for a relative path: each segment percent-encoded (what clients send). */
export function encodePath(relativePath: string): string {
  return relativePath.split('/').map(encodeURIComponent).join('/');
}
