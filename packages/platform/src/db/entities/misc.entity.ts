import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { PulpBase } from './base';

/** A chunked upload; chunks are written in place into one file at their offsets. */
@Entity('core_upload')
export class Upload extends PulpBase {
  @Column('bigint') size: string;
  @Column('text') file: string;
}

@Entity('core_uploadchunk')
@Unique('core_uploadchunk_upload_offset_uniq', ['upload_id', 'offset'])
export class UploadChunk extends PulpBase {
  @Column('uuid') upload_id: string;
  @ManyToOne(() => Upload, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'upload_id' }) upload?: Upload;
  @Column('bigint') offset: string;
  @Column('bigint') size: string;
}

/** Heartbeat of every running process (api, content, worker). */
@Entity('core_appstatus')
export class AppStatus extends PulpBase {
  @Index('core_appstatus_name_uniq', { unique: true }) @Column('text') name: string;
  @Column('varchar', { length: 16 }) app_type: 'api' | 'content' | 'worker';
  @Column('timestamptz', { default: () => 'now()' }) last_heartbeat: Date;
  @Column('jsonb', { default: () => "'{}'" }) versions: Record<string, string>;
  /** Seconds without heartbeat after which the process is considered gone. */
  @Column('integer') ttl: number;
  @Column('uuid', { nullable: true }) current_task_id: string | null;
}

@Entity('core_user')
export class User {
  @PrimaryGeneratedColumn('increment') id: number;
  @Index('core_user_username_uniq', { unique: true }) @Column('varchar', { length: 150 }) username: string;
  /** `scrypt$<salt hex>$<key hex>` */
  @Column('text') password: string;
  @Column('boolean', { default: false }) is_superuser: boolean;
  @Column('boolean', { default: false }) is_staff: boolean;
  @Column('boolean', { default: true }) is_active: boolean;
  @Column('varchar', { length: 150, default: '' }) first_name: string;
  @Column('varchar', { length: 150, default: '' }) last_name: string;
  @Column('varchar', { length: 254, default: '' }) email: string;
  @Column('timestamptz', { default: () => 'now()' }) date_joined: Date;
}
