import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClassType } from '@pith/plugin-api';
import type { Platform } from '../platform';
import { ContentGuardDto, HeaderContentGuardDto } from './content-guard.dto';

/** Lifetime of a pre-authenticated URL (Pulp: one hour). */
export const SIGNED_URL_LIFETIME_SECONDS = 3600;

export interface GuardTypeSpec {
  /** `core.header` */
  pulpType: string;
  /** URL segment: `contentguards/core/<endpoint>/`. */
  endpoint: string;
  /** OpenAPI schema base name (`core.HeaderContentGuard`). */
  schema: string;
  /** Path parameter name (Pulp's model slug). */
  hrefParam: string;
  dto: ClassType;
  /** Type-specific fields of a validated body → stored settings (merged onto `current` on update). */
  settings(body: Record<string, unknown>, current: Record<string, unknown> | null): Record<string, unknown>;
}

export const GUARD_TYPES: GuardTypeSpec[] = [
  {
    pulpType: 'core.header',
    endpoint: 'header',
    schema: 'core.HeaderContentGuard',
    hrefParam: 'header_content_guard_href',
    dto: HeaderContentGuardDto,
    settings: (body, current) => ({
      header_name: body.header_name ?? current?.header_name,
      header_value: body.header_value ?? current?.header_value,
    }),
  },
  {
    pulpType: 'core.content_redirect',
    endpoint: 'content_redirect',
    schema: 'core.ContentRedirectContentGuard',
    hrefParam: 'content_redirect_content_guard_href',
    dto: ContentGuardDto,
    // The signing secret is made once, kept server-side, and never serialized (see resource-kinds).
    settings: (_body, current) => ({ secret: (current?.secret as string | undefined) ?? randomBytes(32).toString('hex') }),
  },
];

export const GUARD_TYPE_BY_NAME = new Map(GUARD_TYPES.map((g) => [g.pulpType, g]));

/** A guard as the content app evaluates it. */
export interface GuardRecord {
  pulp_id: string;
  pulp_type: string;
  settings: Record<string, unknown>;
}

/** The parts of a request a guard looks at. */
export interface GuardRequest {
  /** Raw request target (path and query, as sent). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function mac(secretHex: string, salt: Buffer, signedUrl: string): Buffer {
  const q = signedUrl.indexOf('?');
  return createHmac('sha256', Buffer.from(secretHex, 'hex'))
    .update(salt)
    .update(signedUrl.slice(0, q))
    .update('?')
    .update(signedUrl.slice(q + 1))
    .digest();
}

/**
 * Pre-authenticates a content URL (path and optional query, as the client will request it):
 * appends `expires=<unix time>&validate_token=<salt>:<mac>`, where the MAC (HMAC-SHA256 with the
 * guard's secret) covers the salt, the path and everything in the query before `validate_token`.
 */
export function signContentUrl(secretHex: string, url: string, nowMs = Date.now(), lifetimeSeconds = SIGNED_URL_LIFETIME_SECONDS): string {
  const expires = Math.floor(nowMs / 1000) + lifetimeSeconds;
  const signed = `${url}${url.includes('?') ? '&' : '?'}expires=${expires}&`;
  const salt = randomBytes(16);
  return `${signed}validate_token=${salt.toString('hex')}:${mac(secretHex, salt, signed).toString('hex')}`;
}

const TOKEN = /^(.*[?&])validate_token=([0-9a-f]{32}):([0-9a-f]{64})$/;

/** Null when `url` carries a valid, unexpired signature; otherwise why access is denied. */
export function verifySignedUrl(secretHex: string, url: string, nowMs = Date.now()): string | null {
  const m = TOKEN.exec(url);
  if (!m) return 'Access not authenticated: the URL is not signed (validate_token missing or malformed).';
  const signed = m[1]!;
  const expected = mac(secretHex, Buffer.from(m[2]!, 'hex'), signed);
  if (!timingSafeEqual(expected, Buffer.from(m[3]!, 'hex'))) return 'Access not authenticated: the URL signature does not match.';
  const expires = new URLSearchParams(signed.slice(signed.indexOf('?') + 1)).get('expires');
  if (!expires || !/^\d{1,12}$/.test(expires)) return 'Access not authenticated: expires is missing.';
  if (Number(expires) * 1000 < nowMs) return 'Authentication expired.';
  return null;
}

/** Null when the guard lets the request through; otherwise the reason for a 403. */
export function permit(guard: GuardRecord, req: GuardRequest): string | null {
  switch (guard.pulp_type) {
    case 'core.header': {
      const name = String(guard.settings.header_name ?? '').toLowerCase();
      const want = String(guard.settings.header_value ?? '');
      const got = req.headers[name];
      const value = Array.isArray(got) ? got[0] : got;
      if (value === undefined) return `Access denied: header '${guard.settings.header_name as string}' is missing.`;
      return sameString(value, want) ? null : `Access denied: header '${guard.settings.header_name as string}' has the wrong value.`;
    }
    case 'core.content_redirect': {
      const secret = guard.settings.secret;
      if (typeof secret !== 'string' || !/^[0-9a-f]{64}$/.test(secret)) return 'Access denied: the content guard has no signing secret.';
      return verifySignedUrl(secret, req.url);
    }
    default:
      return `Access denied: unsupported content guard type '${guard.pulp_type}'.`;
  }
}

/** Server-side helpers around guards (signing URLs needs the stored secret). */
export class ContentGuardService {
  constructor(private readonly p: Platform) {}

  /**
   * A pre-authenticated URL for content behind a `core.content_redirect` guard, valid for one
   * hour. `url` is what the client will request (path under the content prefix, optional query).
   */
  async preauthenticateUrl(guardId: string, url: string, nowMs = Date.now()): Promise<string> {
    const g = await this.p.db.one<{ settings: Record<string, unknown> }>(
      `SELECT settings FROM core_contentguard WHERE pulp_id = $1 AND pulp_type = 'core.content_redirect'`,
      [guardId],
    );
    const secret = g?.settings?.secret;
    if (typeof secret !== 'string') throw new Error(`content_redirect guard ${guardId} does not exist`);
    return signContentUrl(secret, url, nowMs);
  }
}
