import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Db } from '../db/db';
import { invalidCredentials, unauthorized } from './errors';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

export interface AuthenticatedUser {
  id: number;
  username: string;
  is_superuser: boolean;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltHex, keyHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !keyHex) return false;
  const key = await scrypt(password, Buffer.from(saltHex, 'hex'), 32);
  const expected = Buffer.from(keyHex, 'hex');
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * HTTP Basic authentication against core_user. Verified credentials are cached briefly (keyed by a
 * hash of the header) because scrypt is deliberately slow and clients send Basic on every request.
 */
export class BasicAuthenticator {
  private readonly cache = new Map<string, { user: AuthenticatedUser; until: number }>();

  constructor(private readonly db: Db, private readonly ttlMs = 30_000) {}

  async authenticate(header: string | undefined): Promise<AuthenticatedUser> {
    if (!header) throw unauthorized();
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw invalidCredentials();
    const key = createHash('sha256').update(header).digest('hex');
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.user;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw invalidCredentials();
    const username = decoded.slice(0, i);
    const password = decoded.slice(i + 1);
    // PostgreSQL text cannot hold NUL: such a username names nobody (and must not reach the query).
    if (decoded.includes('\u0000')) throw invalidCredentials();
    const row = await this.db.one<{ id: number; username: string; password: string; is_superuser: boolean; is_active: boolean }>(
      'SELECT id, username, password, is_superuser, is_active FROM core_user WHERE username = $1',
      [username],
    );
    if (!row || !row.is_active || !(await verifyPassword(password, row.password))) throw invalidCredentials();
    const user = { id: row.id, username: row.username, is_superuser: row.is_superuser };
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { user, until: now + this.ttlMs });
    return user;
  }

  forget(): void {
    this.cache.clear();
  }
}

/** Creates or updates the admin user's password. */
export async function setAdminPassword(db: Db, password: string): Promise<void> {
  const hash = await hashPassword(password);
  await db.query(
    `INSERT INTO core_user (username, password, is_superuser, is_staff, is_active)
     VALUES ('admin', $1, true, true, true)
     ON CONFLICT (username) DO UPDATE SET password = EXCLUDED.password, is_active = true`,
    [hash],
  );
}
