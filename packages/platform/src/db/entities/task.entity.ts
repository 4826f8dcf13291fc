import { Column, Entity, Generated, Index, JoinColumn, ManyToOne } from 'typeorm';
import { PulpBase } from './base';

export type TaskState = 'waiting' | 'skipped' | 'running' | 'completed' | 'failed' | 'canceled' | 'canceling';
export const FINAL_TASK_STATES: TaskState[] = ['skipped', 'completed', 'failed', 'canceled'];
export const INCOMPLETE_TASK_STATES: TaskState[] = ['waiting', 'running', 'canceling'];

@Entity('core_taskgroup')
export class TaskGroup extends PulpBase {
  @Column('text', { default: '' }) description: string;
  @Column('boolean', { default: true }) all_tasks_dispatched: boolean;
}

@Entity('core_groupprogressreport')
export class GroupProgressReport extends PulpBase {
  @Column('text') message: string;
  @Column('text') code: string;
  @Column('integer', { nullable: true }) total: number | null;
  @Column('integer', { default: 0 }) done: number;
  @Column('text', { nullable: true }) suffix: string | null;
  @Index('core_groupprogressreport_group_idx') @Column('uuid') task_group_id: string;
  @ManyToOne(() => TaskGroup, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'task_group_id' }) task_group?: TaskGroup;
}

/**
 * A unit of background work. The row is the truth; Redis only wakes workers. `seq` gives strict
 * FIFO order per resource (timestamps can tie).
 */
@Entity('core_task')
@Index('core_task_incomplete_seq_idx', ['seq'], { where: "state IN ('waiting','running','canceling')" })
@Index('core_task_parent_idx', ['parent_task_id'], { where: 'parent_task_id IS NOT NULL' })
@Index('core_task_finished_idx', ['finished_at'], { where: 'finished_at IS NOT NULL' })
export class Task extends PulpBase {
  @Column('bigint') @Generated('increment') seq: string;
  @Index('core_task_state_idx') @Column('varchar', { length: 16 }) state: TaskState;
  @Index('core_task_name_idx') @Column('text') name: string;
  @Column('varchar', { length: 64, nullable: true }) logging_cid: string | null;
  @Column('timestamptz', { nullable: true }) unblocked_at: Date | null;
  @Column('timestamptz', { nullable: true }) started_at: Date | null;
  @Column('timestamptz', { nullable: true }) finished_at: Date | null;
  @Column('jsonb', { nullable: true }) error: Record<string, unknown> | null;
  @Column('jsonb', { default: () => "'{}'" }) args: Record<string, unknown>;
  @Column('jsonb', { nullable: true }) result: unknown;
  @Column('text', { array: true, default: () => "'{}'" }) exclusive_resources: string[];
  @Column('text', { array: true, default: () => "'{}'" }) shared_resources: string[];
  @Column('text', { array: true, default: () => "'{}'" }) created_resources: string[];
  /** Name of the worker (AppStatus) that runs it. */
  @Column('text', { nullable: true }) worker_name: string | null;
  @Column('uuid', { nullable: true }) parent_task_id: string | null;
  @ManyToOne(() => Task, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'parent_task_id' }) parent_task?: Task;
  @Index('core_task_group_idx') @Column('uuid', { nullable: true }) task_group_id: string | null;
  @ManyToOne(() => TaskGroup, { onDelete: 'SET NULL', nullable: true }) @JoinColumn({ name: 'task_group_id' }) task_group?: TaskGroup;
  @Column('integer', { nullable: true }) created_by: number | null;
}

@Entity('core_progressreport')
export class ProgressReport extends PulpBase {
  @Column('text') message: string;
  @Column('text') code: string;
  @Column('varchar', { length: 16 }) state: string;
  @Column('integer', { nullable: true }) total: number | null;
  @Column('integer', { default: 0 }) done: number;
  @Column('text', { nullable: true }) suffix: string | null;
  @Index('core_progressreport_task_idx') @Column('uuid') task_id: string;
  @ManyToOne(() => Task, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'task_id' }) task?: Task;
}
