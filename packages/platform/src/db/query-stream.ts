import type { Row } from '@pith/plugin-api';
import type { DataSource } from 'typeorm';

let cursorSeq = 0;

/**
 * Streams a query's rows in batches through a server-side cursor on a pinned connection inside a
 * REPEATABLE READ transaction: PostgreSQL sorts once, memory stays at one batch whatever the
 * result's size, and every batch sees the same snapshot. The connection is released when the
 * consumer stops iterating (also early, or on error).
 */
export async function* streamQuery<T extends Row = Row>(
  dataSource: DataSource,
  sql: string,
  params: unknown[] = [],
  batchSize = 1000,
): AsyncGenerator<T[]> {
  const n = Math.max(1, Math.min(50_000, Math.floor(batchSize)));
  const name = `pith_stream_${++cursorSeq}`;
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction('REPEATABLE READ');
    await runner.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, params);
    for (;;) {
      const rows = (await runner.query(`FETCH ${n} FROM ${name}`)) as T[];
      if (!rows.length) break;
      yield rows;
      if (rows.length < n) break;
    }
  } finally {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    await runner.release();
  }
}
