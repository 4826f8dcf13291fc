import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FieldCipher, FieldCipherError } from './field-cipher';

describe('FieldCipher', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'pith-cipher-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips values, with a new owner-only key file made on first use', () => {
    const file = path.join(dir, 'keys', 'k');
    const c = new FieldCipher(file);
    const a = c.encrypt('password', 'pä$$wörd')!;
    const b = c.encrypt('password', 'pä$$wörd')!;
    expect(a).toMatch(/^pith:aes-256-gcm:v1:/);
    expect(a).not.toBe(b); // fresh IV each time
    expect(a).not.toContain('wörd');
    expect(c.decrypt('password', a)).toBe('pä$$wörd');
    expect(new FieldCipher(file).decrypt('password', b)).toBe('pä$$wörd');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
  });

  it('leaves empty and missing values alone and reads values written before encryption as they are', () => {
    const c = new FieldCipher(path.join(dir, 'k'));
    expect(c.encrypt('password', null)).toBeNull();
    expect(c.encrypt('password', '')).toBe('');
    expect(c.decrypt('password', null)).toBeNull();
    expect(c.decrypt('password', 'legacy-plain')).toBe('legacy-plain');
  });

  it('refuses a value moved to another column, another key, or a damaged value', () => {
    const c = new FieldCipher(path.join(dir, 'k'));
    const v = c.encrypt('password', 'x')!;
    expect(() => c.decrypt('proxy_password', v)).toThrow(FieldCipherError);
    writeFileSync(path.join(dir, 'other'), Buffer.alloc(32, 7).toString('base64'));
    expect(() => new FieldCipher(path.join(dir, 'other')).decrypt('password', v)).toThrow(/another key/);
    expect(() => c.decrypt('password', v.slice(0, -4) + 'AAAA')).toThrow(FieldCipherError);
    expect(() => c.decrypt('password', 'pith:aes-256-gcm:v1:AAA=')).toThrow(/damaged/);
  });

  it('does not create a key just to read, and rejects a malformed key file', () => {
    expect(() => new FieldCipher(path.join(dir, 'none')).decrypt('password', 'pith:aes-256-gcm:v1:' + 'A'.repeat(40))).toThrow(/missing/);
    writeFileSync(path.join(dir, 'short'), 'c2hvcnQ=');
    expect(() => new FieldCipher(path.join(dir, 'short')).encrypt('password', 'x')).toThrow(/32 bytes/);
  });
});
