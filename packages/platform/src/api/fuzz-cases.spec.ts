import { badHrefs, buildFuzzCases, deeplyNested, prng, RawNumber, readOperations, toJson, type FuzzTargets } from './fuzz-cases';

const A = '/pulp/api/v3/';
const REPO = `${A}repositories/x/y/01a2f000-0000-7000-8000-000000000001/`;

const doc = {
  paths: {
    [`${A}repositories/x/y/`]: {
      get: { operationId: 'repos_list', tags: ['Repos'], parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'remote', in: 'query', schema: { type: 'string' } }] },
      post: {
        operationId: 'repos_create', tags: ['Repos'],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Repo' } } } },
      },
    },
    '{x_y_repository_href}': {
      patch: {
        operationId: 'repos_partial_update', tags: ['Repos'], parameters: [{ name: 'If-Match', in: 'header', schema: { type: 'string' } }],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Repo' } } } },
      },
    },
    [`${A}status/`]: { get: { operationId: 'status_read', tags: ['Status'], security: [{}] } },
  },
  components: {
    schemas: {
      Repo: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 255 }, retain: { type: ['integer', 'null'], minimum: 1, maximum: 10 }, remote: { type: ['string', 'null'] } },
        required: ['name'],
      },
    },
  },
};

const targets: FuzzTargets = {
  existing: (op) => (op.hrefParam ? REPO : undefined),
  collection: (op) => (op.hrefParam ? `${A}repositories/x/y/` : undefined),
  hrefs: { repository: REPO, remote: `${A}remotes/x/y/01a2f000-0000-7000-8000-000000000002/` },
};

describe('fuzz case generation', () => {
  it('reads operations, href parameters, encodings and anonymity from the document', () => {
    const ops = readOperations(doc);
    expect(ops.map((o) => `${o.method} ${o.operationId} ${o.hrefParam ?? '-'} ${o.list} ${o.anonymous}`)).toEqual([
      'GET repos_list - true false', 'POST repos_create - false false', 'PATCH repos_partial_update x_y_repository_href false false', 'GET status_read - false true',
    ]);
    expect(ops[1]!.body).toMatchObject({ required: true, encodings: ['application/json'], schema: { required: ['name'] } });
  });

  it('is deterministic for a seed, and every case expects a 4xx', () => {
    const a = buildFuzzCases(doc, targets, { seed: 7, maxJsonBody: 1024 });
    const b = buildFuzzCases(doc, targets, { seed: 7, maxJsonBody: 1024 });
    expect(a.map((c) => [c.id, c.path, c.body])).toEqual(b.map((c) => [c.id, c.path, c.body]));
    expect(new Set(a.map((c) => c.id)).size).toBe(a.length);
    expect(a.every((c) => c.expect.length > 0 && c.expect.every((s) => s >= 400 && s < 500))).toBe(true);
    const ids = a.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining([
      'repos_create field:retain:maximum+1', 'repos_create missing-required:name', 'repos_create href:remote:other-host',
      'repos_list filter:remote:href:prn-wrong-model', 'repos_partial_update path:unknown-uuid', 'repos_create auth:wrong-password',
      'repos_create body-over-limit', 'repos_create deep-object-10k', 'repos_create proto-key',
    ]));
    // PATCH keeps its body valid but for If-Match, so only the precondition can refuse it.
    expect(a.find((c) => c.id.startsWith('repos_partial_update if-match'))).toMatchObject({ body: '{}', expect: [412] });
    // Anonymous operations get no auth cases.
    expect(ids.some((id) => id.startsWith('status_read auth:'))).toBe(false);
  });

  it('writes numbers beyond double precision verbatim and nests without recursion', () => {
    expect(toJson({ n: new RawNumber('9223372036854775808'), a: [1, 'x'] })).toBe('{"n":9223372036854775808,"a":[1,"x"]}');
    expect(deeplyNested(3, 'object')).toBe('{"k":{"k":{"k":1}}}');
    expect(deeplyNested(100_000, 'array').length).toBe(200_000);
  });

  it('offers hrefs of other kinds, other hosts and PRNs of other models as bad references', () => {
    const bad = badHrefs('remote', targets, prng(1)).map((h) => h.what);
    expect(bad).toEqual(expect.arrayContaining(['other-kind:repository', 'other-host', 'prn-wrong-model', 'dot-dot', 'long-2KiB']));
    expect(bad).not.toContain('other-kind:remote');
  });
});
