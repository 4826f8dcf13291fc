/**
 * Deterministic generator of hostile requests for the REST API, read from the live OpenAPI
 * document (`fuzz.int-spec.ts` runs them). Every case is invalid by construction, so the server
 * must answer it with a 4xx JSON error and change nothing. Pure: no I/O, a seeded PRNG only.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;

export type FuzzCategory = 'body' | 'field' | 'href' | 'list' | 'path' | 'method' | 'header' | 'multipart';

export interface FuzzCase {
  /** Stable, human-readable id: `<operationId> <what>`. */
  id: string;
  category: FuzzCategory;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Acceptable statuses (all 4xx). */
  expect: number[];
  /** The error body must name one of these (as a key, or inside a message). */
  names?: string[];
  /** Authorization header to send instead of the admin's; null sends none. */
  auth?: string | null;
}

export interface ApiOperation {
  method: string;
  /** Document path: literal, or `{<href param>}<suffix>`. */
  path: string;
  operationId: string;
  tag: string;
  hrefParam?: string;
  suffix: string;
  body?: { required: boolean; encodings: string[]; schema: Schema };
  query: Array<{ name: string; schema: Schema; description?: string }>;
  headers: string[];
  list: boolean;
  anonymous: boolean;
}

/** What the generator needs to know about the live server's objects. */
export interface FuzzTargets {
  /** Href of an existing object the detail operation can be aimed at (body-fuzzing it must not change it). */
  existing(op: ApiOperation): string | undefined;
  /** Collection path an id can be appended to, for detail operations (unknown / malformed ids). */
  collection(op: ApiOperation): string | undefined;
  /** Hrefs of existing objects by kind (`repository`, `remote`, `version`, `content`, `artifact`, `task`, `upload`, `worker`). */
  hrefs: Record<string, string>;
}

/** A number written verbatim into JSON text (beyond what a JS number can express exactly). */
export class RawNumber {
  constructor(readonly text: string) {}
}
type Value = Json | RawNumber | Value[] | { [k: string]: Value };

/** mulberry32: tiny, fast, good enough to pick cases reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON text of a value, with RawNumber markers written as-is. */
export function toJson(v: Value): string {
  if (v instanceof RawNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

/** `{"k":{"k":…}}` or `[[…]]` nested `depth` levels, built as text (no recursion anywhere). */
export function deeplyNested(depth: number, kind: 'object' | 'array'): string {
  return kind === 'object' ? '{"k":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
}

const UNKNOWN = 'fuzz_unknown_field';
const MIB = 1024 * 1024;
const NIL_UUID_LIKE = '00000000-0000-4000-8000-00000000f022';
const API = '/pulp/api/v3/';

// ---------------------------------------------------------------------------------------------
// Reading the document

function deref(doc: Schema, s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && typeof cur.$ref === 'string'; i++) {
    cur = doc.components?.schemas?.[cur.$ref.replace('#/components/schemas/', '')] ?? {};
  }
  return cur;
}

export function readOperations(doc: Schema): ApiOperation[] {
  const out: ApiOperation[] = [];
  for (const [path, item] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const [m, op] of Object.entries<Schema>(item)) {
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      const params: Schema[] = op.parameters ?? [];
      const hrefParam = /^\{([a-z0-9_]+)\}/.exec(path)?.[1];
      const content: Schema = op.requestBody?.content ?? {};
      const encodings = Object.keys(content);
      const first = encodings[0];
      out.push({
        method: m.toUpperCase(),
        path,
        operationId: op.operationId,
        tag: op.tags?.[0] ?? '',
        hrefParam,
        suffix: hrefParam ? path.slice(hrefParam.length + 2) : '',
        body: first ? { required: !!op.requestBody.required, encodings, schema: deref(doc, content[first].schema) } : undefined,
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {}, description: p.description })),
        headers: params.filter((p) => p.in === 'header').map((p) => p.name),
        list: m === 'get' && params.some((p) => p.in === 'query' && p.name === 'limit'),
        anonymous: (op.security ?? []).some((s: Schema) => Object.keys(s).length === 0),
      });
    }
  }
  return out;
}

const typesOf = (s: Schema): Set<string> => new Set(Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** Body fields that hold hrefs (the document types them as plain strings). */
export function hrefKind(field: string): string | null {
  if (/^(base_version|repository_version)$/.test(field)) return 'version';
  if (/^(add_content_units|remove_content_units|content_hrefs|content_units|content)$/.test(field)) return 'content';
  if (/^remote$/.test(field)) return 'remote';
  if (/^repository$/.test(field)) return 'repository';
  if (/^artifact$/.test(field)) return 'artifact';
  if (/^upload$/.test(field)) return 'upload';
  if (/^(publication|distribution|content_guard)$/.test(field)) return field;
  if (/_href$/.test(field)) return 'any';
  return null;
}

/** What a reference filter's value must name (`self`: the listed kind itself). */
const FILTER_KIND: Record<string, string> = {
  pulp_href: 'self', prn: 'self', remote: 'remote', repository: 'repository', repository_version: 'version',
  repository_version_added: 'version', repository_version_removed: 'version', parent_task: 'task', task_group: 'task_group',
  worker: 'worker', publication: 'publication', content_guard: 'content_guard',
};

/** List filters whose values must be references (hrefs / PRNs) of a known kind. */
export function isReferenceFilter(name: string): boolean {
  return /^(pulp_href|prn|remote|repository|repository_version(_added|_removed)?|parent_task|task_group|worker|publication|content_guard)(__in)?$/.test(name);
}

// ---------------------------------------------------------------------------------------------
// Values

/** A body that passes the DTO where possible: required fields filled with plausible values. */
export function baseBody(op: ApiOperation, targets: FuzzTargets, uniq: () => string): Record<string, Value> {
  const s = op.body?.schema ?? {};
  const out: Record<string, Value> = {};
  if (op.method === 'PATCH') return out;
  for (const name of (s.required ?? []) as string[]) {
    const f: Schema = s.properties?.[name] ?? {};
    const t = typesOf(f);
    const kind = hrefKind(name);
    if (f.format === 'binary') continue;
    if (f.enum) out[name] = f.enum[0];
    else if (kind) out[name] = targets.hrefs[kind] ?? targets.hrefs.repository ?? '';
    else if (name === 'name') out[name] = `fuzz-${uniq()}`;
    else if (name === 'url' || f.format === 'uri') out[name] = 'https://example.invalid/fuzz/';
    else if (typeof f.pattern === 'string') out[name] = patternSample(f.pattern);
    else if (t.has('string')) out[name] = 'fuzz';
    else if (t.has('integer') || t.has('number')) out[name] = Math.max(f.minimum ?? 0, 1);
    else if (t.has('boolean')) out[name] = true;
    else if (t.has('array')) out[name] = [];
    else if (t.has('object')) out[name] = {};
  }
  return out;
}

function patternSample(pattern: string): string {
  const hex = /^\^\[0-9a-fA-F\]\{(\d+)\}\$$/.exec(pattern);
  return hex ? 'a'.repeat(Number(hex[1])) : 'fuzz';
}

interface Mutation {
  what: string;
  value: Value;
  /** Schema-valid but extreme: sent with an unknown sibling field, which alone must make it a 400. */
  stress?: boolean;
}

const WRONG_TYPES: Array<{ type: string; what: string; value: Value; accepts: (t: Set<string>) => boolean }> = [
  { type: 'string', what: 'string', value: 'fuzz', accepts: (t) => t.has('string') },
  { type: 'string', what: 'numeric-string', value: '7', accepts: (t) => t.has('string') },
  { type: 'string', what: 'boolean-string', value: 'true', accepts: (t) => t.has('string') },
  { type: 'integer', what: 'integer', value: 7, accepts: (t) => t.has('integer') || t.has('number') },
  { type: 'number', what: 'float', value: 1.5, accepts: (t) => t.has('number') },
  { type: 'boolean', what: 'boolean', value: true, accepts: (t) => t.has('boolean') },
  { type: 'object', what: 'object', value: { a: 'b' }, accepts: (t) => t.has('object') },
  { type: 'array', what: 'array', value: ['x'], accepts: (t) => t.has('array') },
  { type: 'null', what: 'null', value: null, accepts: (t) => t.has('null') },
];

/** Invalid (or, flagged `stress`, extreme) values for one declared field. */
export function fieldMutations(name: string, f: Schema, rnd: () => number): Mutation[] {
  const t = typesOf(f);
  const out: Mutation[] = [];
  if (f.format === 'binary') return [{ what: 'file-as-string', value: 'not a file' }, { what: 'file-as-object', value: { path: '/etc/passwd', size: 1 } }];
  const typed = t.size > 0;
  for (const w of WRONG_TYPES) {
    if (!typed && !f.enum) break;
    if (f.enum && w.type === 'string') {
      if (!f.enum.includes(w.value)) out.push({ what: `not-a-choice:${w.what}`, value: w.value });
      continue;
    }
    if (!w.accepts(t)) out.push({ what: `wrong-type:${w.what}`, value: w.value });
  }
  if (f.enum) out.push({ what: 'not-a-choice', value: 'fuzz-not-a-choice' });
  if (t.has('string')) {
    if (typeof f.maxLength === 'number') out.push({ what: 'max-length+1', value: 'x'.repeat(f.maxLength + 1) });
    if (typeof f.minLength === 'number' && f.minLength > 0) out.push({ what: 'min-length-1', value: '' });
    if (typeof f.pattern === 'string') out.push({ what: 'pattern-mismatch', value: 'zz-not-matching-∆' });
    if (f.format === 'date-time') out.push({ what: 'bad-date', value: 'not-a-date' }, { what: 'impossible-date', value: '2024-02-30T25:61:61Z' });
    out.push({ what: 'nul-byte', value: `fu\u0000zz` });
    // A pattern alone may well match a megabyte (`^[A-Za-z0-9._-]+$`), so it does not bound the length.
    const bounded = typeof f.maxLength === 'number' || !!f.enum || f.format === 'date-time';
    out.push({ what: 'huge-1MiB', value: 'x'.repeat(MIB), stress: !bounded });
    out.push({ what: 'unicode', value: unicodeJunk(rnd), stress: true });
  }
  if (t.has('integer') || t.has('number')) {
    const int = !t.has('number');
    if (typeof f.minimum === 'number') out.push({ what: 'minimum-1', value: f.minimum - (int ? 1 : 0.5) });
    if (typeof f.maximum === 'number') out.push({ what: 'maximum+1', value: new RawNumber(String(BigInt(Math.floor(f.maximum)) + 1n)) });
    if (typeof f.minimum === 'number' && f.minimum >= 0) out.push({ what: 'negative', value: -1 });
    out.push({ what: 'overflow-1e400', value: new RawNumber('1e400') }, { what: 'overflow--1e400', value: new RawNumber('-1e400') });
    out.push({ what: 'nan-string', value: 'NaN' }, { what: 'infinity-string', value: 'Infinity' });
    if (int) {
      out.push(
        { what: 'huge-1e308', value: 1e308 },
        { what: 'huge-2^63', value: new RawNumber('9223372036854775808') },
        { what: 'huge-2^64', value: new RawNumber('18446744073709551616') },
        { what: 'huge--2^63-1', value: new RawNumber('-9223372036854775809') },
        { what: 'not-safe-2^53+1', value: new RawNumber('9007199254740993') },
        { what: 'fraction', value: 1.5 },
      );
    }
  }
  if (t.has('array')) {
    const items: Schema = f.items ?? {};
    const it = typesOf(items);
    if (it.has('string') || items.enum) out.push({ what: 'item-wrong-type', value: [7] }, { what: 'item-null', value: [null] }, { what: 'item-nul-byte', value: ['fu\u0000zz'] });
    if (items.enum) out.push({ what: 'item-not-a-choice', value: ['fuzz-not-a-choice'] });
    if (typeof f.maxItems === 'number') out.push({ what: 'max-items+1', value: Array.from({ length: f.maxItems + 1 }, () => 'x') });
    out.push({ what: 'nested-arrays', value: [[['x']]] });
  }
  if (t.has('object')) {
    if (name === 'pulp_labels') {
      out.push({ what: 'label-not-string', value: { k: 7 } }, { what: 'label-bad-key', value: { 'bad key!': 'v' } }, { what: 'label-nested', value: { k: { k: 'v' } } });
      out.push({ what: 'label-nul-byte', value: { k: 'v\u0000' } }, { what: 'label-key-nul', value: { 'k\u0000': 'v' } });
    }
    out.push({ what: 'nested-deep-object', value: JSON.parse(deeplyNested(200, 'object')) as Json, stress: true });
  }
  return out;
}

function unicodeJunk(rnd: () => number): string {
  const pool = ['\u202e', '\ud83d\ude00', '\u0301', '\ufeff', '\u200b', '漢字', 'ß', '\uffff', '\ud800', '\r\n', '\t', '\\', '"', "'", '%00', '<script>'];
  let s = '';
  for (let i = 0; i < 24; i++) s += pool[Math.floor(rnd() * pool.length)];
  return s;
}

/** Hrefs that do not name an object of `kind` (version, content, remote, …). */
export function badHrefs(kind: string, targets: FuzzTargets, rnd: () => number): Array<{ what: string; value: string }> {
  const h = targets.hrefs;
  const out: Array<{ what: string; value: string }> = [];
  for (const [k, v] of Object.entries(h)) {
    if (k !== kind && !(kind === 'any')) out.push({ what: `other-kind:${k}`, value: v });
  }
  const coll = kindCollection(kind, h);
  const uuid = randomUuid(rnd);
  out.push(
    { what: 'not-an-href', value: 'not-an-href' },
    { what: 'non-uuid', value: `${coll}not-a-uuid/` },
    { what: 'unknown-uuid', value: kind === 'version' ? `${h.repository ?? coll}versions/999999999/` : `${coll}${uuid}/` },
    { what: 'dot-dot', value: `${coll}../../artifacts/${uuid}/` },
    { what: 'dot-dot-etc', value: '../../../../etc/passwd' },
    { what: 'encoded-dot-dot', value: `${coll}%2e%2e/%2e%2e/${uuid}/` },
    { what: 'query-suffix', value: `${(h[kind] ?? `${coll}${uuid}/`)}?x=1` },
    { what: 'other-host', value: `https://evil.example.com${h[kind] ?? `${coll}${uuid}/`}` },
    { what: 'file-url', value: `file://${h[kind] ?? `${coll}${uuid}/`}` },
    { what: 'long-2KiB', value: `${coll}${'a'.repeat(2048)}/` },
    { what: 'prn-junk', value: 'prn:' },
    { what: 'prn-non-uuid', value: 'prn:core.repository:not-a-uuid' },
    { what: 'prn-wrong-model', value: `prn:core.artifact:${idOf(h[kind]) ?? uuid}` },
    { what: 'prn-dot-dot', value: `prn:../../${uuid}` },
    { what: 'whitespace', value: `  ${h[kind] ?? `${coll}${uuid}/`}  ` },
  );
  if (kind === 'version' && h.repository) {
    out.push(
      { what: 'version-negative', value: `${h.repository}versions/-1/` },
      { what: 'version-11-digits', value: `${h.repository}versions/99999999999/` },
      { what: 'version-fraction', value: `${h.repository}versions/1.5/` },
    );
  }
  return out;
}

function kindCollection(kind: string, h: Record<string, string>): string {
  const href = h[kind] ?? h.repository ?? `${API}repositories/x/y/${NIL_UUID_LIKE}/`;
  const base = kind === 'version' ? (h.repository ?? href) : href;
  return base.replace(/[0-9a-f-]{36}\/(versions\/\d+\/)?$/, '');
}

const idOf = (href: string | undefined) => (href ? /([0-9a-f-]{36})\/(?:versions\/\d+\/)?$/.exec(href)?.[1] : undefined);

export function randomUuid(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** `application/x-www-form-urlencoded` text of flat values. */
function formBody(values: Record<string, Value>): string {
  return new URLSearchParams(Object.entries(values).map(([k, v]): [string, string] => [k, v instanceof RawNumber ? v.text : String(v)])).toString();
}

// ---------------------------------------------------------------------------------------------
// Multipart

export function multipart(boundary: string, parts: Array<{ name: string; value: string | Buffer; filename?: string }>): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disp}\r\n${p.filename ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`));
    chunks.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// The cases

const JSON_CT = { 'Content-Type': 'application/json' };

export interface BuildOptions {
  seed: number;
  /** Operations (by operationId) to send one over-limit body to (413). */
  oversizeBody?: number;
  maxJsonBody: number;
}

/** Every case for the document, in a fixed order for a given seed. */
export function buildFuzzCases(doc: Schema, targets: FuzzTargets, opts: BuildOptions): FuzzCase[] {
  const rnd = prng(opts.seed);
  let n = 0;
  const uniq = () => `${opts.seed.toString(16)}-${(n++).toString(36)}`;
  const ops = readOperations(doc);
  const cases: FuzzCase[] = [];
  const add = (c: FuzzCase) => cases.push(c);

  for (const op of ops) {
    const target = opTarget(op, targets);
    if (op.body && target) bodyCases(op, target, targets, rnd, uniq, add);
    if (op.list && !op.hrefParam) listCases(op, op.path, targets, rnd, add);
    else if (op.list && target) listCases(op, target.path, targets, rnd, add);
    if (op.hrefParam) pathCases(op, targets, rnd, uniq, add);
    if (!op.anonymous) authCases(op, target, targets, uniq, add);
    if (op.headers.includes('If-Match') && target?.existing) ifMatchCases(op, target.path, targets, uniq, add);
    if (op.headers.includes('Content-Range') && target?.existing) contentRangeCases(op, target.path, add);
  }
  methodCases(ops, targets, add);
  oversizeCases(ops, targets, rnd, opts, add);
  return cases;
}

/** Where to send a case for this operation: the existing object's path when there is one. */
function opTarget(op: ApiOperation, targets: FuzzTargets): { path: string; existing: boolean } | undefined {
  if (!op.hrefParam) return { path: op.path, existing: true };
  const href = targets.existing(op);
  if (href) return { path: href + op.suffix, existing: true };
  const coll = targets.collection(op);
  return coll ? { path: `${coll}${NIL_UUID_LIKE}/${op.suffix}`, existing: false } : undefined;
}

function bodyCases(
  op: ApiOperation, target: { path: string; existing: boolean }, targets: FuzzTargets, rnd: () => number, uniq: () => string,
  add: (c: FuzzCase) => void,
): void {
  const spec = op.body!;
  const json = spec.encodings.includes('application/json');
  const form = spec.encodings.includes('application/x-www-form-urlencoded');
  const multi = spec.encodings.includes('multipart/form-data');
  // A 404 is as good as a 400 when the object named in the path does not exist.
  const bad = target.existing ? [400] : [400, 404];
  const jsonBad = json ? bad : [415];
  const id = (what: string) => `${op.operationId} ${what}`;
  const base = () => baseBody(op, targets, uniq);
  const send = (category: FuzzCategory, what: string, body: string | Buffer, contentType: string | null, expect: number[], names?: string[]) =>
    add({
      id: id(what), category, method: op.method, path: target.path,
      headers: contentType ? { 'Content-Type': contentType } : {}, body, expect, names,
    });

  // Whole-body junk.
  const withUnknown = toJson({ ...base(), [UNKNOWN]: 1 });
  send('body', 'not-json', 'this is not json', 'application/json', jsonBad, ['detail']);
  send('body', 'truncated-json', withUnknown.slice(0, Math.max(1, Math.floor(withUnknown.length / 2))), 'application/json', jsonBad, ['detail']);
  send('body', 'truncated-open-brace', '{', 'application/json', jsonBad, ['detail']);
  send('body', 'truncated-string', '{"name": "abc', 'application/json', jsonBad, ['detail']);
  send('body', 'nan-literal', '{"x": NaN}', 'application/json', jsonBad, ['detail']);
  send('body', 'bom-prefixed', `\ufeff${withUnknown}`, 'application/json', jsonBad, ['detail', UNKNOWN]);
  send('body', 'invalid-utf8', Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`":1}`)]), 'application/json', jsonBad);
  for (const [what, text] of [['array', '[]'], ['array-of-body', `[${toJson(base())}]`], ['string', '"fuzz"'], ['number', '42'], ['null', 'null'], ['true', 'true']] as const) {
    send('body', `json-${what}`, text, 'application/json', jsonBad, ['non_field_errors', 'detail']);
  }
  send('body', 'unknown-field', withUnknown, 'application/json', jsonBad, [UNKNOWN, 'detail']);
  send('body', 'unknown-field-case', toJson({ ...base(), NAME: 'x' }), 'application/json', jsonBad, ['NAME', 'detail']);
  send('body', 'unknown-field-nul-key', toJson({ ...base(), 'a\u0000b': 1 }), 'application/json', jsonBad);
  send('body', 'duplicate-unknown-keys', `{"${UNKNOWN}":1,"${UNKNOWN}":2}`, 'application/json', jsonBad, [UNKNOWN, 'detail']);
  send('body', 'proto-key', `{"__proto__":{"polluted":true}${Object.keys(base()).length ? ',' + toJson(base()).slice(1, -1) : ''}}`, 'application/json', jsonBad, ['__proto__', 'detail']);
  send('body', 'constructor-key', toJson({ ...base(), constructor: { prototype: { polluted: true } } }), 'application/json', jsonBad, ['constructor', 'detail']);
  send('body', 'deep-object-10k', `{"${UNKNOWN}":${deeplyNested(10_000, 'object')}}`, 'application/json', jsonBad, [UNKNOWN, 'detail']);
  send('body', 'deep-array-10k', deeplyNested(10_000, 'array'), 'application/json', jsonBad, ['non_field_errors', 'detail']);
  send('body', 'many-unknown-keys', toJson(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${UNKNOWN}_${i}`, i]))), 'application/json', jsonBad, [`${UNKNOWN}_0`, 'detail']);

  // Wrong content types (the declared encodings are json, form, multipart only).
  send('body', 'content-type-text-plain', withUnknown, 'text/plain', [415], ['detail']);
  send('body', 'content-type-xml', '<?xml version="1.0"?><a><name>x</name></a>', 'application/xml', [415], ['detail']);
  send('body', 'content-type-json-patch', withUnknown, 'application/json-patch+json', [415], ['detail']);
  send('body', 'content-type-garbage', withUnknown, ';;;===', [415], ['detail']);
  send('body', 'content-type-missing-with-body', withUnknown, null, [400, 415], ['detail', UNKNOWN]);
  if (form) {
    send('body', 'form-unknown-field', `${UNKNOWN}=1`, 'application/x-www-form-urlencoded', bad, [UNKNOWN]);
    send('body', 'form-json-text', withUnknown, 'application/x-www-form-urlencoded', bad);
    send('body', 'form-bad-percent', `${UNKNOWN}=%E0%A4%A&%ZZ=1`, 'application/x-www-form-urlencoded', bad);
    send('body', 'form-nul', `${UNKNOWN}=a%00b`, 'application/x-www-form-urlencoded', bad, [UNKNOWN]);
  }

  // Required fields missing, one at a time.
  const schema = spec.schema;
  const required: string[] = schema.required ?? [];
  if (op.method !== 'PATCH') {
    for (const r of required) {
      if (schema.properties?.[r]?.format === 'binary') continue;
      const b = base();
      delete b[r];
      send('field', `missing-required:${r}`, json ? toJson(b) : formBody(b), json ? 'application/json' : 'application/x-www-form-urlencoded', bad, [r]);
    }
    if (required.length && json) send('body', 'empty-object', '{}', 'application/json', bad, required);
    if (required.length && json) send('body', 'empty-body-json', '', 'application/json', bad, required);
  }

  // Each declared field: wrong types, out-of-range and hostile values, bad hrefs.
  for (const [name, f] of Object.entries<Schema>(schema.properties ?? {})) {
    const kind = hrefKind(name);
    const ms = fieldMutations(name, f, rnd);
    for (const m of ms) {
      if (f.format === 'binary') {
        if (form && !json) send('field', `field:${name}:${m.what}`, new URLSearchParams({ [name]: typeof m.value === 'string' ? m.value : JSON.stringify(m.value) }).toString(), 'application/x-www-form-urlencoded', bad, [name]);
        continue;
      }
      const b: Record<string, Value> = { ...base(), [name]: m.value };
      if (m.stress) b[UNKNOWN] = 1;
      if (json) send('field', `field:${name}:${m.what}`, toJson(b), 'application/json', bad, [m.stress ? UNKNOWN : name]);
      // Form values are strings by nature ("7" is a fine integer there): only non-type mutations apply.
      else if (form && typeof m.value !== 'object' && !m.what.startsWith('wrong-type:')) {
        send('field', `form-field:${name}:${m.what}`, formBody(b), 'application/x-www-form-urlencoded', bad, [m.stress ? UNKNOWN : name]);
      }
    }
    if (kind && json) {
      const isArray = typesOf(f).has('array');
      for (const h of badHrefs(kind, targets, rnd)) {
        send('href', `href:${name}:${h.what}`, toJson({ ...base(), [name]: isArray ? [h.value] : h.value }), 'application/json', bad, [name]);
      }
    }
  }

  if (multi) multipartCases(op, target.path, spec, bad, add);
}

function multipartCases(op: ApiOperation, path: string, spec: NonNullable<ApiOperation['body']>, bad: number[], add: (c: FuzzCase) => void): void {
  const fileFields = Object.entries<Schema>(spec.schema.properties ?? {}).filter(([, f]) => f.format === 'binary').map(([n]) => n);
  const B = 'fuzzboundary7MA4YWxkTrZu0gW';
  const ct = `multipart/form-data; boundary=${B}`;
  const file = fileFields[0];
  const good = multipart(B, [
    ...(file ? [{ name: file, value: Buffer.from('0123456789'), filename: 'f.bin' }] : []),
    { name: UNKNOWN, value: '1' },
  ]);
  const send = (what: string, body: Buffer, contentType: string, names?: string[], expect = bad) =>
    add({ id: `${op.operationId} multipart:${what}`, category: 'multipart', method: op.method, path, headers: { 'Content-Type': contentType }, body, expect, names });
  send('missing-boundary', good, 'multipart/form-data', ['detail']);
  send('empty-boundary', good, 'multipart/form-data; boundary=', ['detail']);
  send('boundary-mismatch', good, 'multipart/form-data; boundary=other-boundary-xyz', ['detail']);
  send('truncated', good.subarray(0, Math.floor(good.length * 0.6)), ct, ['detail']);
  send('truncated-after-headers', Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${UNKNOWN}"\r\n\r\nabc`), ct, ['detail']);
  send('no-final-boundary', good.subarray(0, good.length - `--${B}--\r\n`.length), ct, ['detail']);
  send('garbage', Buffer.from('\x00\x01\x02 not multipart at all'), ct, ['detail']);
  send('unknown-field', good, ct, [UNKNOWN]);
  send('part-without-name', Buffer.from(`--${B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${B}\r\nContent-Disposition: form-data; name="${UNKNOWN}"\r\n\r\n1\r\n--${B}--\r\n`), ct);
  send('unexpected-file-field', multipart(B, [{ name: 'fuzz_file', value: 'abc', filename: '../../etc/passwd' }]), ct, ['fuzz_file', 'detail']);
  if (file) {
    send('file-twice', multipart(B, [{ name: file, value: 'a', filename: 'a' }, { name: file, value: 'b', filename: 'b' }, { name: UNKNOWN, value: '1' }]), ct, ['detail', file, UNKNOWN]);
    send('truncated-inside-file', Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${file}"; filename="x"\r\n\r\n`), Buffer.alloc(64 * 1024, 1)]), ct, ['detail']);
    send('file-missing', multipart(B, [{ name: UNKNOWN, value: '1' }]), ct, [file, UNKNOWN]);
  }
}

function listCases(op: ApiOperation, path: string, targets: FuzzTargets, rnd: () => number, add: (c: FuzzCase) => void): void {
  const send = (what: string, query: string, names: string[], expect = [400]) =>
    add({ id: `${op.operationId} ${what}`, category: 'list', method: 'GET', path: `${path}?${query}`, headers: {}, expect, names });
  const q = (k: string, v: string) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
  send('unknown-filter', q('fuzz_unknown_filter', '1'), ['fuzz_unknown_filter']);
  send('unknown-lookup', q('pulp_id__fuzzlookup', '1'), ['pulp_id__fuzzlookup']);
  send('unknown-filter-nul', q('fu\u0000zz', '1'), ['detail']);
  for (const [what, v] of [['negative', '-1'], ['text', 'abc'], ['fraction', '1.5'], ['exponent', '1e3'], ['huge', '99999999999999999999'], ['empty', ''], ['space', ' 1']] as const) {
    send(`limit:${what}`, q('limit', v), ['limit']);
    send(`offset:${what}`, q('offset', v), ['offset']);
  }
  send('limit:repeated', 'limit=1&limit=2', ['limit']);
  if (op.query.some((p) => p.name === 'ordering')) {
    for (const [what, v] of [['unknown', 'fuzz_unknown'], ['unknown-desc', '-fuzz_unknown'], ['sql', 'pulp_created;DROP TABLE core_task'], ['double-dash', '--pulp_created'], ['only-dash', '-'], ['commas-and-unknown', ',,fuzz_unknown,'], ['nul', 'pulp_\u0000created']] as const) {
      send(`ordering:${what}`, q('ordering', v), ['ordering', 'detail']);
    }
  }
  for (const p of op.query) {
    if (['limit', 'offset', 'ordering', 'fields', 'exclude_fields', 'page_size'].includes(p.name)) continue;
    const s = p.schema;
    const t = typesOf(s);
    const items: Schema = s.items ?? {};
    const bad: Array<[string, string]> = [];
    if (t.has('integer')) bad.push(['text', 'abc'], ['fraction', '1.5'], ['huge', '99999999999999999999'], ['nan', 'NaN']);
    if (t.has('boolean')) bad.push(['not-bool', 'maybe'], ['number', '2']);
    if (s.format === 'uuid') bad.push(['not-uuid', 'not-a-uuid'], ['uuid-plus', `${randomUuid(rnd)}0`]);
    if (s.format === 'date-time') bad.push(['not-date', 'not-a-date'], ['impossible-date', '2024-13-45T99:99:99Z']);
    if (items.format === 'uuid') bad.push(['items-not-uuid', 'x,y']);
    if (items.format === 'date-time') bad.push(['range-not-dates', 'a,b'], ['range-one-value', '2024-01-01T00:00:00Z'], ['range-three-values', '2024-01-01,2024-01-02,2024-01-03']);
    if (s.enum || items.enum) bad.push(['not-a-choice', 'fuzz-not-a-choice']);
    if (p.name === 'pulp_type' || p.name === 'pulp_type__in') bad.push(['unknown-type', 'fuzz.nothing']);
    if (t.has('string') || items.type === 'string' || t.has('array')) bad.push(['nul-byte', 'fu\u0000zz']);
    // Under Node's 16 KiB request-head limit, so the value reaches the filter code.
    if (t.has('string') && !s.format) bad.push(['huge-8KiB', 'x'.repeat(8 * 1024)]);
    if (isReferenceFilter(p.name)) {
      const kind = FILTER_KIND[p.name.replace(/__in$/, '')] ?? 'any';
      const top = path.slice(API.length).split('/')[0];
      for (const h of badHrefs(kind === 'self' ? 'any' : kind, targets, rnd)) {
        // A well-formed reference to an object that does not exist simply matches nothing.
        if (h.what === 'unknown-uuid' || h.what === 'whitespace') continue;
        bad.push([`href:${h.what}`, h.value]);
      }
      if (kind === 'self' && top !== 'repository_versions') {
        for (const [k, v] of Object.entries(targets.hrefs)) if (!v.startsWith(`${API}${top}/`)) bad.push([`href:other-kind:${k}`, v]);
      }
    }
    const base = p.name.replace(/__[a-z]+$/, '');
    for (const [what, v] of bad) {
      // A huge string filter may legitimately be accepted by `contains`-style lookups; only the length limit is asserted.
      send(`filter:${p.name}:${what}`, q(p.name, v), [p.name, base, 'detail']);
    }
  }
  send('query-too-long', q('name', 'x'.repeat(64 * 1024)), ['detail'], [400, 414, 431]);
}

function pathCases(op: ApiOperation, targets: FuzzTargets, rnd: () => number, uniq: () => string, add: (c: FuzzCase) => void): void {
  const coll = targets.collection(op);
  if (!coll) return;
  const isVersion = /versions\/\d+\/$/.test(targets.existing(op) ?? '');
  const json = !op.body || op.body.encodings.includes('application/json');
  const plain = op.body ? baseBody(op, targets, uniq) : undefined;
  const body = plain === undefined ? undefined : json ? toJson(plain) : formBody(plain);
  const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded' };
  const expect = op.body ? [400, 404] : [404];
  const send = (what: string, path: string) =>
    add({ id: `${op.operationId} path:${what}`, category: 'path', method: op.method, path, headers, body, expect, names: op.body ? undefined : ['detail'] });
  if (isVersion) {
    const repo = targets.existing(op)!.replace(/versions\/\d+\/$/, '');
    for (const [what, v] of [['negative', '-1'], ['out-of-range', '999999999'], ['11-digits', '99999999999'], ['fraction', '1.5'], ['text', 'abc'], ['huge', '9'.repeat(400)]] as const) {
      send(`version:${what}`, `${repo}versions/${v}/${op.suffix}`);
    }
    send('version:unknown-repo', `${coll}${randomUuid(rnd)}/versions/0/${op.suffix}`);
    return;
  }
  const ids: Array<[string, string]> = [
    ['not-uuid', 'not-a-uuid'], ['number', '12345'], ['uuid-plus-char', `${randomUuid(rnd)}0`], ['uuid-minus-char', randomUuid(rnd).slice(1)],
    ['sql', "'%20OR%20'1'='1"], ['nul', '%00'], ['encoded-slash', 'a%2Fb'], ['encoded-dot-dot', '%2e%2e'], ['long-2KiB', 'a'.repeat(2048)],
    ['unknown-uuid', randomUuid(rnd)], ['uppercase-unknown-uuid', randomUuid(rnd).toUpperCase()],
  ];
  for (const [what, id] of ids) send(what, `${coll}${id}/${op.suffix}`);
  // An existing object of another kind, named through this kind's collection.
  for (const [k, href] of Object.entries(targets.hrefs)) {
    const id = idOf(href);
    if (id && !(targets.existing(op) ?? '').includes(id) && k !== 'version') send(`other-kind-id:${k}`, `${coll}${id}/${op.suffix}`);
  }
}

const MALFORMED_AUTH: Array<[string, string | null]> = [
  ['none', null],
  ['scheme-only', 'Basic'],
  ['not-base64', 'Basic !!!not-base64!!!'],
  ['no-colon', `Basic ${Buffer.from('admin').toString('base64')}`],
  ['wrong-password', `Basic ${Buffer.from('admin:wrong').toString('base64')}`],
  ['unknown-user', `Basic ${Buffer.from('nobody:x').toString('base64')}`],
  ['bearer', 'Bearer abc.def.ghi'],
  ['huge', `Basic ${'A'.repeat(8000)}`],
  ['nul-in-credentials', `Basic ${Buffer.from('admin\u0000:x').toString('base64')}`],
];

function authCases(op: ApiOperation, target: { path: string } | undefined, targets: FuzzTargets, uniq: () => string, add: (c: FuzzCase) => void): void {
  const path = target?.path ?? op.path;
  if (path.includes('{')) return;
  const body = op.body ? toJson(baseBody(op, targets, uniq)) : undefined;
  for (const [what, auth] of MALFORMED_AUTH) {
    add({
      id: `${op.operationId} auth:${what}`, category: 'header', method: op.method, path, auth,
      headers: body !== undefined ? { ...JSON_CT } : {}, body, expect: [401], names: ['detail'],
    });
  }
}

const GARBAGE_IF_MATCH = ['garbage', '"not-the-etag"', 'W/"x"', '""', ',', ' ', `"${'x'.repeat(4000)}"`, '"a", "b"', '\u00ff'];

function ifMatchCases(op: ApiOperation, path: string, targets: FuzzTargets, uniq: () => string, add: (c: FuzzCase) => void): void {
  // Without a body error in the way: PATCH `{}` and PUT with the base body would succeed but for If-Match.
  const body = op.body ? (op.method === 'PATCH' ? '{}' : toJson(baseBody(op, targets, uniq))) : undefined;
  if (op.body && !op.body.encodings.includes('application/json')) return;
  for (const v of GARBAGE_IF_MATCH) {
    add({
      id: `${op.operationId} if-match:${JSON.stringify(v.slice(0, 20))}`, category: 'header', method: op.method, path,
      headers: { 'If-Match': v, ...(body !== undefined ? JSON_CT : {}) }, body, expect: op.body && op.method !== 'PATCH' ? [400, 412] : [412], names: ['detail'],
    });
  }
}

function contentRangeCases(op: ApiOperation, path: string, add: (c: FuzzCase) => void): void {
  const B = 'fuzzrange0123456789';
  const file = Object.entries<Schema>(op.body?.schema.properties ?? {}).find(([, f]) => f.format === 'binary')?.[0] ?? 'file';
  const body = multipart(B, [{ name: file, value: Buffer.from('01234'), filename: 'chunk' }]);
  const ranges: Array<[string, string | null]> = [
    ['missing', null], ['empty', ''], ['unit-only', 'bytes'], ['no-total', 'bytes 0-4'], ['reversed', 'bytes 4-0/10'],
    ['beyond-total', 'bytes 0-14/10'], ['negative', 'bytes -1-3/10'], ['equals-sign', 'bytes=0-4/10'], ['other-unit', 'items 0-4/10'],
    ['huge', 'bytes 0-99999999999999999/99999999999999999'], ['size-mismatch', 'bytes 0-2/10'], ['beyond-upload', 'bytes 100-104/*'],
    ['wrong-total', 'bytes 0-4/999'], ['garbage', '\u00ff\u00fe'], ['many-ranges', 'bytes 0-1/10, 2-4/10'],
  ];
  for (const [what, v] of ranges) {
    add({
      id: `${op.operationId} content-range:${what}`, category: 'header', method: op.method, path,
      headers: { 'Content-Type': `multipart/form-data; boundary=${B}`, ...(v === null ? {} : { 'Content-Range': v }) },
      body, expect: [400], names: ['detail', 'Content-Range'],
    });
  }
}

function methodCases(ops: ApiOperation[], targets: FuzzTargets, add: (c: FuzzCase) => void): void {
  const byPath = new Map<string, Set<string>>();
  for (const op of ops) {
    const t = opTarget(op, targets);
    if (!t?.existing) continue;
    byPath.set(t.path, (byPath.get(t.path) ?? new Set()).add(op.method));
  }
  const collections = ops.filter((o) => o.list && !o.hrefParam).map((o) => o.path);
  for (const [path, methods] of byPath) {
    // `tasks/purge/` also matches `tasks/<id>/`: other methods reach that route (a 404 or 400 there).
    const shadowed = collections.some((c) => path !== c && path.startsWith(c) && /^[^/]+\/$/.test(path.slice(c.length)));
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      if (methods.has(m)) continue;
      const body = m === 'GET' || m === 'DELETE' ? undefined : '{}';
      add({
        id: `${m} ${path} method-not-allowed`, category: 'method', method: m, path, headers: body ? { ...JSON_CT } : {}, body,
        expect: shadowed ? [400, 404, 405] : [405], names: shadowed ? undefined : ['detail'],
      });
    }
  }
  add({ id: 'unknown-api-path', category: 'method', method: 'GET', path: `${API}fuzz-nothing/`, headers: {}, expect: [404], names: ['detail'] });
  add({ id: 'api-path-dot-dot', category: 'method', method: 'GET', path: `${API}repositories/%2e%2e/%2e%2e/status/`, headers: {}, expect: [404], names: ['detail'] });
}

/**
 * The expensive bodies (over the size limit, nesting 100k/1M deep) exercise the shared decoding
 * path, so a few seeded picks of operations are enough.
 */
function oversizeCases(ops: ApiOperation[], targets: FuzzTargets, rnd: () => number, opts: BuildOptions, add: (c: FuzzCase) => void): void {
  const candidates = ops.filter((o) => o.body?.encodings.includes('application/json') && opTarget(o, targets)?.existing);
  const n = Math.min(opts.oversizeBody ?? 3, candidates.length);
  const heavy: Array<[string, () => string, number[], string[]]> = [
    ['body-over-limit', () => `{"${UNKNOWN}":"${'x'.repeat(opts.maxJsonBody + 1)}"}`, [413], ['detail']],
    ['deep-object-100k', () => `{"${UNKNOWN}":${deeplyNested(100_000, 'object')}}`, [400], [UNKNOWN]],
    ['deep-array-1M', () => deeplyNested(1_000_000, 'array'), [400], ['non_field_errors']],
  ];
  for (let i = 0; i < n; i++) {
    const op = candidates.splice(Math.floor(rnd() * candidates.length), 1)[0]!;
    for (const [what, body, expect, names] of heavy) {
      add({ id: `${op.operationId} ${what}`, category: 'body', method: op.method, path: opTarget(op, targets)!.path, headers: { ...JSON_CT }, body: body(), expect, names });
    }
  }
}
