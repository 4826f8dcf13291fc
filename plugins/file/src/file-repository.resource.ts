import { TaskError, type ModelResource, type Row } from '@pith/plugin-api';

/**
 * The settings a file repository created by an import takes from upstream. `last_sync_details`
 * stays behind: it describes the upstream instance's last sync and would make a downstream sync
 * with `optimize` skip wrongly.
 */
const SETTINGS = ['autopublish', 'manifest'] as const;

export const fileRepositoryResource: ModelResource = {
  name: 'file.FileRepository',
  kind: 'repository',
  async *exportRows(scope) {
    const all = await scope.repositoryRow();
    const row: Row = {};
    for (const k of SETTINGS) if (k in all) row[k] = all[k];
    yield [row];
  },
  async importRows(scope, rows) {
    for (const row of rows) {
      const unknown = Object.keys(row ?? {}).filter((k) => !(SETTINGS as readonly string[]).includes(k));
      if (unknown.length) throw new TaskError(`file.FileRepository: unexpected field(s) ${unknown.join(', ')}.`);
      await scope.applyRepositoryRow(row);
    }
  },
};
