import type { Db } from '../db/db';
import { IN_VERSION } from '../repositories/version.service';

/**
 * Sparse position index of a version's content (every `stride`-th content_id in content_id
 * order), so `?offset=99900` becomes "content_id > boundary, skip 900" instead of skipping 99,900
 * index entries. Safe to cache: the content of a complete version never changes while the
 * version exists (squashing another version keeps it identical), and a deleted version's id is
 * never reused. Built lazily, once per version per process, with one index-only scan.
 */
export class VersionPageIndex {
  private readonly cache = new Map<string, Promise<string[]>>();

  constructor(private readonly db: Db, readonly stride = 1000, private readonly maxVersions = 256) {}

  /** Where to start for `offset`: the content_id to continue after (null = from the start) and how many to skip. */
  async seek(versionId: string, repositoryId: string, number: number, offset: number): Promise<{ after: string | null; skip: number }> {
    if (offset < this.stride) return { after: null, skip: offset };
    const bounds = await this.boundaries(versionId, repositoryId, number);
    const k = Math.min(Math.floor(offset / this.stride), bounds.length);
    if (k === 0) return { after: null, skip: offset };
    return { after: bounds[k - 1]!, skip: offset - k * this.stride };
  }

  private boundaries(versionId: string, repositoryId: string, number: number): Promise<string[]> {
    let p = this.cache.get(versionId);
    if (p) {
      // LRU: re-insert on use.
      this.cache.delete(versionId);
      this.cache.set(versionId, p);
      return p;
    }
    p = this.db
      .query<{ content_id: string }>(
        `SELECT content_id FROM (
           SELECT rc.content_id, row_number() OVER (ORDER BY rc.content_id) AS rn
             FROM core_repositorycontent rc
            WHERE rc.repository_id = $1 AND ${IN_VERSION('rc', '$2')}) x
          WHERE rn % $3 = 0 ORDER BY rn`,
        [repositoryId, number, this.stride],
      )
      .then((rows) => rows.map((r) => r.content_id));
    p.catch(() => this.cache.delete(versionId));
    this.cache.set(versionId, p);
    while (this.cache.size > this.maxVersions) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }
}
