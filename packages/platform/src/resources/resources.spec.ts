import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Min } from 'class-validator';
import { validateBody } from '../http/validation';
import { SqlWhere } from '../http/sql-filters';
import { ApiError } from '../http/errors';
import { combineDtos, partialDto } from './dto-combine';
import { hasLeadingIndex, mapDetailValues, toRecordsetValue, type DetailTable } from './detail-tables';
import { ifMatchSatisfied, labelSelectFilter, referenceId } from './common-filters';
import { RepositoryCoreDto } from './core-dtos';
import { resourcePrn } from './resource-kinds';

class DetailDto {
  @IsOptional() @IsString() manifest?: string;
  @IsInt() @Min(0) depth: number;
}

async function errorsOf(dto: Parameters<typeof validateBody>[0], body: unknown): Promise<Record<string, string[]> | null> {
  try {
    await validateBody(dto, body);
    return null;
  } catch (e) {
    return (e as ApiError).body as Record<string, string[]>;
  }
}

describe('combined DTOs', () => {
  const Create = combineDtos('x.XRepository', RepositoryCoreDto, DetailDto);
  const Patch = partialDto('Patchedx.XRepository', Create);

  it('validates core and detail fields together and rejects anything else', async () => {
    expect(Create.name).toBe('x.XRepository');
    expect(await errorsOf(Create, { name: 'r', depth: 1, manifest: 'M' })).toBeNull();
    expect(await errorsOf(Create, { name: 'r', depth: 1, other: 1 })).toEqual({ other: ['Unexpected field'] });
    expect(Object.keys((await errorsOf(Create, { name: 'r' }))!)).toEqual(['depth']);
    expect(Object.keys((await errorsOf(Create, { depth: 1 }))!)).toEqual(['name']);
    expect(Object.keys((await errorsOf(Create, { name: 'r', depth: -1 }))!)).toEqual(['depth']);
  });

  it('PATCH makes every field optional but still rejects null for non-nullable ones', async () => {
    expect(await errorsOf(Patch, {})).toBeNull();
    expect(await errorsOf(Patch, { description: null, remote: null })).toBeNull();
    expect(Object.keys((await errorsOf(Patch, { name: null }))!)).toEqual(['name']);
    expect(Object.keys((await errorsOf(Patch, { depth: 'x' }))!)).toEqual(['depth']);
    expect(await errorsOf(Patch, { nope: 1 })).toEqual({ nope: ['Unexpected field'] });
    // The create class is unchanged by deriving the patch class.
    expect(Object.keys((await errorsOf(Create, {}))!).sort()).toEqual(['depth', 'name']);
  });

  it('refuses a detail DTO that redeclares a platform field', () => {
    class Clash {
      @IsString() name: string;
    }
    expect(() => combineDtos('Bad', RepositoryCoreDto, Clash)).toThrow(/redeclares/);
  });
});

describe('detail tables', () => {
  const table: DetailTable = {
    sql: '"t"', table: 't', ptr: 'content_ptr_id',
    columns: [{ name: 'name', property: 'name', sqlType: 'text', nullable: false }],
    byName: new Map([['name', { name: 'name', property: 'name', sqlType: 'text', nullable: false }]]),
    indexes: [['content_ptr_id'], ['name', 'sha256'], ['a', 'b', 'c']],
  };

  it('finds indexes led by the key columns', () => {
    expect(hasLeadingIndex(table, ['name'])).toBe(true);
    expect(hasLeadingIndex(table, ['sha256', 'name'])).toBe(true);
    expect(hasLeadingIndex(table, ['sha256'])).toBe(false);
    expect(hasLeadingIndex(table, ['b', 'a'])).toBe(true);
    expect(hasLeadingIndex(table, ['c'])).toBe(false);
  });

  it('encodes values for jsonb_to_recordset and maps detail keys', () => {
    expect(toRecordsetValue(new Date('2025-01-02T03:04:05.678Z'))).toBe('2025-01-02T03:04:05.678Z');
    expect(toRecordsetValue(Buffer.from([1, 255]))).toBe('\\x01ff');
    expect(toRecordsetValue(undefined)).toBeNull();
    expect(toRecordsetValue(10n)).toBe('10');
    expect([...mapDetailValues(table, { name: 'x' }, 'w')]).toEqual([['name', 'x']]);
    expect(() => mapDetailValues(table, { nope: 1 }, 'w')).toThrow(/nope/);
  });
});

describe('filters and references', () => {
  it('turns pulp_label_select terms into jsonb conditions', async () => {
    const w = new SqlWhere();
    await labelSelectFilter('m.l').apply(w, 'exact', 'a,!b,c=1,d!=2,e~X_y');
    expect(w.clauses).toEqual([
      'm.l ? $1', 'NOT (m.l ? $2)', 'm.l ->> $3 = $4', '(m.l ? $5 AND m.l ->> $5 <> $6)', 'm.l ->> $7 ILIKE $8',
    ]);
    expect(w.params).toEqual(['a', 'b', 'c', '1', 'd', '2', 'e', '%X\\_y%']);
    expect(() => labelSelectFilter('m.l').apply(new SqlWhere(), 'exact', '!a=1')).toThrow();
  });

  it('matches If-Match lists, weak tags and *', () => {
    expect(ifMatchSatisfied(undefined, '"a"')).toBe(true);
    expect(ifMatchSatisfied('"a"', '"a"')).toBe(true);
    expect(ifMatchSatisfied('W/"a"', '"a"')).toBe(true);
    expect(ifMatchSatisfied('"b", "a"', '"a"')).toBe(true);
    expect(ifMatchSatisfied('*', undefined)).toBe(true);
    expect(ifMatchSatisfied('"b"', '"a"')).toBe(false);
  });

  it('resolves hrefs and PRNs to ids', () => {
    const id = '0198c1f7-0000-7000-8000-000000000001';
    expect(referenceId(`/pulp/api/v3/content/file/files/${id}/`, ['content'])).toBe(id);
    expect(referenceId(`prn:file.filecontent:${id}`, ['content'])).toBe(id);
    expect(referenceId(`/pulp/api/v3/repositories/file/file/${id}/`, ['content'])).toBeNull();
    expect(referenceId(`/pulp/api/v3/repositories/file/file/${id}/versions/1/`, ['repositories'])).toBeNull();
    expect(referenceId('nonsense', ['content'])).toBeNull();
  });

  it('builds PRNs like Pulp', () => {
    expect(resourcePrn('file.file', 'repository', 'x')).toBe('prn:file.filerepository:x');
    expect(resourcePrn('container.container-push', 'repository', 'x')).toBe('prn:container.containerpushrepository:x');
  });
});
