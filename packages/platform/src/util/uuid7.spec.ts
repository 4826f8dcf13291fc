import { uuid7, UUID_RE } from './uuid7';

describe('uuid7', () => {
  it('makes RFC 9562 version-7 ids whose first 48 bits are the current Unix time in ms', () => {
    const before = Date.now();
    const id = uuid7();
    const after = Date.now();
    expect(id).toMatch(UUID_RE);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('stays unique and well-formed across many refills of the random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = uuid7();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5000);
  });

  it('sorts by creation time across milliseconds', async () => {
    const a = uuid7();
    await new Promise((r) => setTimeout(r, 3));
    const b = uuid7();
    expect(a < b).toBe(true);
  });
});
