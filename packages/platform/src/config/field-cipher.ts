import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Marks an encrypted value: `pith:aes-256-gcm:v1:` + base64(iv ‖ tag ‖ ciphertext). */
const PREFIX = 'pith:aes-256-gcm:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A stored secret that this key cannot open (another installation's key, or a damaged value). */
export class FieldCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldCipherError';
  }
}

/**
 * Encryption at rest for secret columns (remote credentials and client keys), as Pulp does with
 * Fernet and DB_ENCRYPTION_KEY: a database dump or replica does not give away upstream
 * credentials. AES-256-GCM from node:crypto (authenticated, no dependency needed); the column
 * name is bound in as additional data, so a value cannot be moved to another column unnoticed.
 *
 * The key file holds 32 random bytes in base64. It is created on first use when missing (with
 * an exclusive create, so processes starting together agree on one key) and must be shared by
 * every process of an installation, like the media root it defaults to living in.
 * Values without the prefix are read as they are: rows written before encryption existed keep
 * working and are encrypted on their next update.
 */
export class FieldCipher {
  private key: Buffer | null = null;

  constructor(private readonly keyFile: string) {}

  encrypt(column: string, value: string | null | undefined): string | null | undefined {
    if (value === null || value === undefined || value === '') return value;
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.loadKey(true), iv);
    c.setAAD(Buffer.from(column));
    const body = Buffer.concat([c.update(value, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  decrypt(column: string, stored: string | null | undefined): string | null {
    if (stored === null || stored === undefined) return null;
    if (!stored.startsWith(PREFIX)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new FieldCipherError(`The stored ${column} is damaged.`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.loadKey(false), raw.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(column));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch (e) {
      if (e instanceof FieldCipherError) throw e;
      throw new FieldCipherError(
        `The stored ${column} cannot be decrypted with the key in ${this.keyFile} (PITH_DB_ENCRYPTION_KEY): ` +
          'it was written with another key, or it is damaged. Set the field again.',
      );
    }
  }

  private loadKey(createIfMissing: boolean): Buffer {
    if (this.key) return this.key;
    let text: string;
    try {
      text = readFileSync(this.keyFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!createIfMissing) throw new FieldCipherError(`The encryption key ${this.keyFile} (PITH_DB_ENCRYPTION_KEY) is missing.`);
      text = createKeyFile(this.keyFile);
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== KEY_BYTES) {
      throw new FieldCipherError(`The encryption key ${this.keyFile} must hold ${KEY_BYTES} bytes in base64.`);
    }
    this.key = key;
    return key;
  }
}

/** Writes a new key file (owner-only) unless another process just did; returns the file's text. */
function createKeyFile(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readFileSync(file, 'utf8');
}
