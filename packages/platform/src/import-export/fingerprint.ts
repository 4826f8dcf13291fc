import type { Platform } from '../platform';
import { quoteIdent } from '../http/sql-filters';
import { contentIdsQuery } from './version-sets';

/**
 * A fingerprint of a repository version's content that two instances compute alike: the number of
 * units and the sum of a 60-bit hash of each unit's `pulp_type` and natural key (order-free, so
 * PostgreSQL aggregates it in constant memory at any size). Database ids differ between instances
 * and never enter it. Incremental imports compare the downstream repository's latest version with
 * the base version's fingerprint recorded upstream: equal content, equal fingerprints. It detects
 * divergence (it is not meant to resist a forger: archives are verified by their checksums).
 */
export async function versionFingerprint(p: Platform, repositoryId: string, number: number): Promise<string> {
  const ids = contentIdsQuery({ repositoryId, number, baseNumber: null }, 'present', 1);
  const types = await p.db.query<{ pulp_type: string; n: string }>(
    `SELECT c.pulp_type, count(*)::text AS n FROM core_content c WHERE c.pulp_id IN (${ids.sql}) GROUP BY c.pulp_type ORDER BY c.pulp_type`,
    ids.params,
  );
  let count = 0n;
  let sum = 0n;
  for (const t of types) {
    const reg = p.registry.contentTypes.get(t.pulp_type);
    if (!reg) throw new Error(`content type '${t.pulp_type}' is not installed`);
    const table = await p.detailTables.get(reg.def.entity);
    const key = reg.def.naturalKey.map((k) => `d.${quoteIdent(table.byName.get(k)?.name ?? k)}`);
    const [r] = await p.db.query<{ n: string; s: string | null }>(
      `SELECT count(*)::text AS n,
              sum(('x' || substr(md5(${`$${ids.params.length + 1}::text`} || json_build_array(${key.join(', ')})::text), 1, 15))::bit(60)::bigint::numeric)::text AS s
         FROM ${table.sql} d
        WHERE d.${quoteIdent(table.ptr)} IN (${ids.sql})`,
      [...ids.params, t.pulp_type],
    );
    count += BigInt(r!.n);
    sum += BigInt(r!.s ?? '0');
  }
  return `${count}:${sum.toString(16)}`;
}
