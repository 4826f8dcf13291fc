import { BLOCK, headerChecksum, headerChecksumSigned, isZeroBlock, padding, parseNumeric, paxRecord, writeOctal } from './tar-header';

describe('tar header helpers', () => {
  it('pax records count their own length, across digit-count boundaries', () => {
    for (let n = 0; n < 1200; n++) {
      const rec = paxRecord('path', 'x'.repeat(n));
      expect(Number(rec.slice(0, rec.indexOf(' ')))).toBe(Buffer.byteLength(rec));
      expect(rec.endsWith(`path=${'x'.repeat(n)}\n`)).toBe(true);
    }
    const u = paxRecord('path', 'é'.repeat(50));
    expect(Number(u.split(' ')[0])).toBe(Buffer.byteLength(u));
  });

  it('parses octal (padded with spaces or NULs) and GNU base-256 numbers', () => {
    const b = Buffer.alloc(12);
    writeOctal(b, 0, 12, 0o12345670123);
    expect(b.toString('latin1')).toBe('12345670123\0');
    expect(parseNumeric(b, 0, 12)).toBe(0o12345670123);
    expect(parseNumeric(Buffer.from('   644 \0'), 0, 8)).toBe(0o644);
    expect(parseNumeric(Buffer.alloc(8), 0, 8)).toBe(0);
    expect(parseNumeric(Buffer.from('0000009\0'), 0, 8)).toBeNull(); // 9 is not octal
    expect(parseNumeric(Buffer.from('12 34\0\0\0'), 0, 8)).toBeNull();
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(16 * 2 ** 30, 6, 6);
    expect(parseNumeric(big, 0, 12)).toBe(16 * 2 ** 30);
    const neg = Buffer.alloc(12, 0xff);
    expect(parseNumeric(neg, 0, 12)).toBeNull();
    const huge = Buffer.alloc(12, 0x7f);
    huge[0] = 0x80 | 0x7f;
    expect(parseNumeric(huge, 0, 12)).toBeNull();
  });

  it('checksums, zero blocks and padding', () => {
    const h = Buffer.alloc(BLOCK);
    expect(isZeroBlock(h, 0)).toBe(true);
    h[511] = 1;
    expect(isZeroBlock(h, 0)).toBe(false);
    h[0] = 200;
    expect(headerChecksum(h)).toBe(200 + 1 + 8 * 32);
    expect(headerChecksumSigned(h)).toBe(200 - 256 + 1 + 8 * 32);
    expect([0, 1, 511, 512, 513].map(padding)).toEqual([0, 511, 1, 0, 511]);
  });
});
