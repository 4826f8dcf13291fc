/** What a file sync saw, stored on the repository so the next `optimize` sync can skip. */
export interface FileSyncDetails {
  remote_id: string;
  url: string;
  download_policy: string;
  /** The remote's pulp_last_updated: any edit of the remote (credentials, TLS…) invalidates. */
  remote_updated: string;
  mirror: boolean;
  /** sha256 of the downloaded manifest. */
  manifest_checksum: string;
  /** Latest complete version number after that sync. */
  most_recent_version: number | null;
}

/**
 * Whether a sync with `current` settings would change nothing after the one recorded in `last`:
 * same remote (and not edited since), same URL and policy, same manifest bytes, and nobody
 * created a version in between. Switching to mirror mode always runs (it may remove units).
 */
export function syncIsRedundant(current: FileSyncDetails, last: unknown): boolean {
  if (!last || typeof last !== 'object') return false;
  const l = last as Partial<FileSyncDetails>;
  if (current.mirror && !l.mirror) return false;
  return (
    l.remote_id === current.remote_id &&
    l.url === current.url &&
    l.download_policy === current.download_policy &&
    l.remote_updated === current.remote_updated &&
    l.manifest_checksum === current.manifest_checksum &&
    l.most_recent_version === current.most_recent_version
  );
}
