import type { ArtifactInfo } from '@pith/plugin-api';
import type { ArtifactStorageService, FileMover, HashedFile } from '../storage/artifact-storage.service';

interface Pending {
  file: HashedFile;
  resolve(a: ArtifactInfo): void;
  reject(e: unknown): void;
}

/** Largest group stored in one transaction. */
const MAX_BATCH = 500;
/**
 * How long a verified file may wait for others before its group is stored. Each group costs a
 * transaction of four statements and a WAL flush (~2 ms of server time beyond the rows): at
 * small-file rates (~3,000/s) 50 ms makes groups of ~150, a third of the transactions 20 ms made.
 */
const MAX_WAIT_MS = 50;
/**
 * Store transactions at once: files finishing while one runs join the next group, so the group
 * size follows the download rate (a few statements per group, whatever the rate).
 */
const MAX_FLUSHES = 1;

/**
 * Groups verified downloads that finish close together into one `storeHashedBatch` call, so a
 * sync of many small files costs a few statements per group instead of a transaction per file.
 * A lone download waits at most MAX_WAIT_MS.
 */
export class ArtifactStoreBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing = 0;

  constructor(private readonly artifacts: ArtifactStorageService, private readonly mover?: FileMover) {}

  store(file: HashedFile): Promise<ArtifactInfo> {
    return new Promise((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), MAX_WAIT_MS);
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.queue.length || this.flushing >= MAX_FLUSHES) return;
    const group = this.queue.splice(0, MAX_BATCH);
    const started = Date.now();
    this.flushing++;
    this.artifacts
      // Downloads run inside tasks, which commit synchronously when they end (db/bulk-sql.ts).
      .storeHashedBatch(group.map((g) => g.file), this.mover, { relaxedCommit: true })
      .then(
        (rows) => group.forEach((g, i) => g.resolve(rows[i]!)),
        (e) => group.forEach((g) => g.reject(e)),
      )
      .finally(() => {
        this.flushing--;
        // Files that arrived meanwhile form the next group: at once when it is full, else once
        // MAX_WAIT_MS has passed (a slow transaction has often used that up already).
        if (this.queue.length >= MAX_BATCH) this.flush();
        else if (this.queue.length) this.timer ??= setTimeout(() => this.flush(), Math.max(0, MAX_WAIT_MS - (Date.now() - started)));
      });
  }
}
