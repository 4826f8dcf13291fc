import { reservedResourcesRecord, serializeMinimalTask, serializeTaskRow, type TaskRow } from './task-serializer';

const ID = '01900000-0000-7000-8000-000000000001';
const row: TaskRow = {
  pulp_id: ID,
  pulp_created: '2026-01-01T00:00:00.000001Z',
  pulp_last_updated: '2026-01-01T00:00:01.000000Z',
  state: 'completed',
  name: 'file.sync',
  logging_cid: 'abc',
  created_by: 3,
  unblocked_at: '2026-01-01T00:00:00.500000Z',
  started_at: '2026-01-01T00:00:00.600000Z',
  finished_at: '2026-01-01T00:00:01.000000Z',
  error: null,
  result: null,
  exclusive_resources: ['/pulp/api/v3/repositories/file/file/r/'],
  shared_resources: ['/pulp/api/v3/remotes/file/file/x/'],
  created_resources: ['/pulp/api/v3/repositories/file/file/r/versions/1/'],
  parent_task_id: null,
  task_group_id: '01900000-0000-7000-8000-000000000002',
};

describe('task serializer', () => {
  it('prefixes shared resources like Pulp', () => {
    expect(reservedResourcesRecord(['a', 'b'], ['c'])).toEqual(['a', 'b', 'shared:c']);
    expect(reservedResourcesRecord([], [])).toEqual([]);
  });

  it('builds hrefs, prn and the fixed fields', () => {
    const j = serializeTaskRow(row, ['01900000-0000-7000-8000-000000000003'], []);
    expect(j.pulp_href).toBe(`/pulp/api/v3/tasks/${ID}/`);
    expect(j.prn).toBe(`prn:core.task:${ID}`);
    expect(j.created_by).toBe('/pulp/api/v3/users/3/');
    expect(j.worker).toBeNull();
    expect(j.child_tasks).toEqual(['/pulp/api/v3/tasks/01900000-0000-7000-8000-000000000003/']);
    expect(j.task_group).toBe('/pulp/api/v3/task-groups/01900000-0000-7000-8000-000000000002/');
    expect(j.reserved_resources_record).toEqual(['/pulp/api/v3/repositories/file/file/r/', 'shared:/pulp/api/v3/remotes/file/file/x/']);
    expect(j.pulp_api_version).toBe('v3');
    expect(serializeTaskRow({ ...row, created_by: null }, [], []).created_by).toBeNull();
  });

  it('minimal representation has exactly the timing/state fields', () => {
    expect(Object.keys(serializeMinimalTask(row))).toEqual([
      'pulp_href', 'prn', 'pulp_created', 'pulp_last_updated', 'state', 'name', 'unblocked_at', 'started_at', 'finished_at', 'worker',
    ]);
  });
});
