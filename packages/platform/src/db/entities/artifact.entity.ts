import { Column, Entity, Index } from 'typeorm';
import { PulpBase } from './base';

@Entity('core_artifact')
export class Artifact extends PulpBase {
  @Column('text') file: string;
  @Column('bigint') size: string;
  @Column('varchar', { length: 32, nullable: true }) md5: string | null;
  @Column('varchar', { length: 40, nullable: true }) sha1: string | null;
  @Column('varchar', { length: 56, nullable: true }) sha224: string | null;
  @Index('core_artifact_sha256_uniq', { unique: true }) @Column('varchar', { length: 64 }) sha256: string;
  @Index('core_artifact_sha384_uniq', { unique: true }) @Column('varchar', { length: 96, nullable: true }) sha384: string | null;
  @Index('core_artifact_sha512_uniq', { unique: true }) @Column('varchar', { length: 128, nullable: true }) sha512: string | null;
  @Column('timestamptz', { default: () => 'now()' }) timestamp_of_interest: Date;
}
