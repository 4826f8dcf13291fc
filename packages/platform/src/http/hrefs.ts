import { AsyncLocalStorage } from 'node:async_hooks';
import { UUID_RE } from '../util/uuid7';
import { fieldError } from './errors';

export const API_ROOT = '/pulp/api/v3/';

/** Host-relative hrefs, exactly as Pulp builds them. */
export const hrefs = {
  artifact: (id: string) => `${API_ROOT}artifacts/${id}/`,
  upload: (id: string) => `${API_ROOT}uploads/${id}/`,
  task: (id: string) => `${API_ROOT}tasks/${id}/`,
  taskGroup: (id: string) => `${API_ROOT}task-groups/${id}/`,
  worker: (id: string) => `${API_ROOT}workers/${id}/`,
  user: (id: number) => `${API_ROOT}users/${id}/`,
  /** `<kind>/<plugin>/<endpoint>/<id>/`, e.g. repositories/file/file/<uuid>/ */
  detail: (kind: string, pulpType: string, endpoint: string, id: string) =>
    `${API_ROOT}${kind}/${pulpType.split('.')[0]}/${endpoint}/${id}/`,
  version: (repoHref: string, n: number) => `${repoHref}versions/${n}/`,
};

export interface ParsedHref {
  /** `artifacts`, `uploads`, `tasks`, `repositories`, `remotes`, `content`, … */
  kind: string;
  /** For master/detail kinds: plugin and endpoint segments. */
  plugin?: string;
  endpoint?: string;
  id: string;
  /** Repository version number, when the href names a version. */
  version?: number;
}

const SIMPLE = /^\/pulp\/api\/v3\/(artifacts|uploads|tasks|task-groups|workers|exporters\/core\/pulp|importers\/core\/pulp)\/([0-9a-f-]{36})\/$/i;
const DETAIL = /^\/pulp\/api\/v3\/(repositories|remotes|content|publications|distributions|contentguards)\/([a-z0-9_]+)\/([a-z0-9_-]+)\/([0-9a-f-]{36})\/(?:versions\/(\d{1,9})\/)?$/i;

/**
 * The `Host` (or `X-Forwarded-Host`) of the API request being handled, set by the router: an
 * absolute href naming another host does not name one of our objects.
 */
export const requestHost = new AsyncLocalStorage<string>();

/**
 * Parses an href (absolute URLs to this server are reduced to their path). Returns null when it is
 * not one of ours.
 */
export function parseHref(input: string): ParsedHref | null {
  if (typeof input !== 'string' || input.length > 2048) return null;
  let path = input;
  if (/^https?:\/\//i.test(path)) {
    try {
      const u = new URL(path);
      const host = requestHost.getStore();
      // Same scheme on both sides so default ports compare equal (`host` vs `host:80`).
      if (host !== undefined && new URL(`${u.protocol}//${host}`).host !== u.host) return null;
      path = u.pathname;
    } catch {
      return null;
    }
  }
  let m = SIMPLE.exec(path);
  if (m && UUID_RE.test(m[2]!)) return { kind: m[1]!, id: m[2]!.toLowerCase() };
  m = DETAIL.exec(path);
  if (m && UUID_RE.test(m[4]!)) {
    const parsed: ParsedHref = { kind: m[1]!, plugin: m[2]!, endpoint: m[3]!, id: m[4]!.toLowerCase() };
    if (m[5] !== undefined) {
      if (m[1] !== 'repositories') return null;
      parsed.version = Number(m[5]);
    }
    return parsed;
  }
  return null;
}

/** Parses an href that must be of `kind` (and a version or not); a 400 naming the field otherwise. */
export function requireHref(field: string, value: unknown, kind: string, opts: { version?: boolean } = {}): ParsedHref {
  const p = typeof value === 'string' ? parseHref(value) : null;
  const ok = p && p.kind === kind && (opts.version === undefined || (p.version !== undefined) === opts.version);
  if (!ok) {
    const what = opts.version ? 'repository version' : kind.replace(/s$/, '');
    throw fieldError(field, `Invalid hyperlink - not a valid ${what} href: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  return p!;
}

/** Pulp Resource Name for a row: `prn:<app>.<model>:<uuid>`. */
export const prn = (app: string, model: string, id: string) => `prn:${app}.${model}:${id}`;
