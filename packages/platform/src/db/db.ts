import type { DataSource, QueryRunner } from 'typeorm';
import type { DataAccess, Row } from '@pith/plugin-api';

/**
 * Thin explicit-SQL access over TypeORM's pool. Bulk paths use SQL directly (DESIGN §6); a
 * transaction pins one connection and is rolled back on any error.
 */
export class Db implements DataAccess {
  constructor(readonly dataSource: DataSource, private readonly runner?: QueryRunner) {}

  async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    const r = await (this.runner ?? this.dataSource).query(sql, params);
    // TypeORM returns [rows, count] for UPDATE/DELETE … RETURNING on postgres.
    if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number') return r[0] as T[];
    return r as T[];
  }

  async one<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }

  get inTransaction(): boolean {
    return !!this.runner;
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.runner) return fn(this);
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      const result = await fn(new Db(this.dataSource, runner));
      await runner.commitTransaction();
      return result;
    } catch (e) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await runner.release();
    }
  }
}
