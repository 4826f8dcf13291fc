import { syncIsRedundant, type FileSyncDetails } from './file-sync-details';

const base: FileSyncDetails = {
  remote_id: 'r1',
  url: 'http://h/PULP_MANIFEST',
  download_policy: 'immediate',
  remote_updated: '2026-01-01 00:00:00+00',
  mirror: false,
  manifest_checksum: 'c'.repeat(64),
  most_recent_version: 3,
};

describe('syncIsRedundant', () => {
  it('skips only when everything matches', () => {
    expect(syncIsRedundant(base, { ...base })).toBe(true);
  });

  it('never skips without a previous sync', () => {
    expect(syncIsRedundant(base, null)).toBe(false);
    expect(syncIsRedundant(base, 'junk')).toBe(false);
  });

  it.each<[string, Partial<FileSyncDetails>]>([
    ['another remote', { remote_id: 'r2' }],
    ['another url', { url: 'http://h/other' }],
    ['another policy', { download_policy: 'on_demand' }],
    ['an edited remote', { remote_updated: '2026-01-02 00:00:00+00' }],
    ['a changed manifest', { manifest_checksum: 'd'.repeat(64) }],
    ['a version made since', { most_recent_version: 4 }],
  ])('runs after %s', (_what, change) => {
    expect(syncIsRedundant({ ...base, ...change }, base)).toBe(false);
  });

  it('runs when switching to mirror, skips when switching back to additive', () => {
    expect(syncIsRedundant({ ...base, mirror: true }, base)).toBe(false);
    expect(syncIsRedundant(base, { ...base, mirror: true })).toBe(true);
  });
});
