import { Column, PrimaryColumn } from 'typeorm';

/** Columns every Pulp row has: a time-ordered uuid and two timestamps. */
export abstract class PulpBase {
  @PrimaryColumn('uuid') pulp_id: string;
  @Column('timestamptz', { default: () => 'now()' }) pulp_created: Date;
  @Column('timestamptz', { default: () => 'now()' }) pulp_last_updated: Date;
}
