/**
 * The rules pulp-glue (pulp-cli's API library) applies when it loads `api.json`: its pydantic
 * models forbid unknown keys except `x-*` (Schema objects excepted), require operationIds and
 * response descriptions, and its "quirks" patch some operations before parsing. A document that
 * passes this check loads in pulp-cli 0.38–0.41 (see reference/pulp-clients.md §1, §3, §9).
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const TOP_KEYS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'];
const INFO_KEYS = ['title', 'summary', 'description', 'termsOfService', 'contact', 'license', 'version'];
const PATH_ITEM_KEYS = ['summary', 'description', 'servers', 'parameters', '$ref'];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const OPERATION_KEYS = ['tags', 'summary', 'description', 'externalDocs', 'operationId', 'parameters', 'requestBody', 'responses', 'callbacks', 'deprecated', 'security', 'servers'];
const PARAMETER_KEYS = ['name', 'in', 'description', 'required', 'deprecated', 'allowEmptyValue', 'style', 'explode', 'allowReserved', 'schema', 'example', 'examples', 'content'];
const REQUEST_BODY_KEYS = ['description', 'content', 'required'];
const RESPONSE_KEYS = ['description', 'headers', 'content', 'links'];
const COMPONENT_KEYS = ['schemas', 'responses', 'parameters', 'examples', 'requestBodies', 'headers', 'securitySchemes', 'links', 'callbacks', 'pathItems'];
const REF_KEYS = ['$ref', 'summary', 'description'];
const TAG_KEYS = ['name', 'description', 'externalDocs'];
const SCHEME_KEYS: Record<string, string[]> = {
  http: ['type', 'description', 'scheme', 'bearerFormat'],
  apiKey: ['type', 'description', 'name', 'in'],
  oauth2: ['type', 'description', 'flows'],
  mutualTLS: ['type', 'description'],
  openIdConnect: ['type', 'description', 'openIdConnectUrl'],
};
const JSON_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'object', 'array', 'null']);
/** PEP 440 as far as version comparisons in pulp-glue need (`3.90.0`, `3.117.0.dev`, `2.25.0rc1`). */
const PEP440 = /^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d*)?$/;

export interface LintOptions {
  /** Operation ids that must exist (e.g. the ones pulp-cli calls). */
  requiredOperationIds?: string[];
}

/** Returns every violation found (empty = acceptable to pulp-glue). */
export function lintOpenApi(doc: unknown, opts: LintOptions = {}): string[] {
  const errors: string[] = [];
  const err = (where: string, msg: string) => errors.push(`${where}: ${msg}`);

  const onlyKeys = (where: string, o: Obj, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k) && !k.startsWith('x-')) err(where, `unknown key '${k}'`);
  };

  if (!isObj(doc)) return ['document: not an object'];
  onlyKeys('document', doc, TOP_KEYS);
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) err('openapi', 'must be a string starting with "3."');

  // info
  const info = doc.info;
  let versions: Obj = {};
  if (!isObj(info)) err('info', 'missing');
  else {
    onlyKeys('info', info, INFO_KEYS);
    if (typeof info.title !== 'string') err('info.title', 'required string');
    if (typeof info.version !== 'string') err('info.version', 'required string');
    const v = info['x-pulp-app-versions'];
    if (!isObj(v)) err('info.x-pulp-app-versions', 'must be an object');
    else {
      versions = v;
      if (typeof v.core !== 'string') err('info.x-pulp-app-versions', 'must contain core');
      for (const [c, ver] of Object.entries(v)) {
        if (typeof ver !== 'string' || !PEP440.test(ver)) err(`info.x-pulp-app-versions.${c}`, `'${String(ver)}' is not a PEP 440 version`);
      }
    }
    if (typeof info['x-pulp-domain-enabled'] !== 'boolean') err('info.x-pulp-domain-enabled', 'must be a boolean');
  }

  // components
  const components = isObj(doc.components) ? doc.components : {};
  if (!isObj(doc.components)) err('components', 'missing');
  onlyKeys('components', components, COMPONENT_KEYS);
  const schemas = isObj(components.schemas) ? components.schemas : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : undefined;
  if (!schemes) err('components.securitySchemes', 'missing (pulp-glue patches a mutualTLS scheme into it)');
  for (const [name, s] of Object.entries(schemes ?? {})) {
    const where = `components.securitySchemes.${name}`;
    if (!isObj(s) || typeof s.type !== 'string' || !SCHEME_KEYS[s.type]) {
      err(where, 'type must be one of http, apiKey, oauth2, mutualTLS, openIdConnect');
      continue;
    }
    onlyKeys(where, s, SCHEME_KEYS[s.type]!);
    if (s.type === 'http' && typeof s.scheme !== 'string') err(where, 'http scheme needs "scheme"');
    if (s.type === 'apiKey' && (typeof s.name !== 'string' || !['query', 'header', 'cookie'].includes(String(s.in)))) err(where, 'apiKey needs name and in');
  }
  for (const [name, s] of Object.entries(schemas)) {
    if (!/^[a-zA-Z0-9._-]+$/.test(name)) err(`components.schemas.${name}`, 'invalid component name');
    checkSchema(`components.schemas.${name}`, s, schemas, err);
  }

  if (doc.tags !== undefined) {
    if (!Array.isArray(doc.tags)) err('tags', 'must be an array');
    else doc.tags.forEach((t, i) => {
      if (!isObj(t) || typeof t.name !== 'string') err(`tags[${i}]`, 'needs a name');
      else onlyKeys(`tags[${i}]`, t, TAG_KEYS);
    });
  }

  // paths
  const ids = new Map<string, string>();
  const paths = doc.paths;
  if (!isObj(paths)) err('paths', 'missing');
  for (const [path, item] of Object.entries(isObj(paths) ? paths : {})) {
    const wherePath = `paths["${path}"]`;
    if (!path.startsWith('/') && !path.startsWith('{')) err(wherePath, 'must start with "/" or a whole-href parameter');
    const templates = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    if (path.startsWith('{')) {
      // pulp-glue substitutes one whole href (only the last parameter of a path is substituted).
      if (!/^\{[a-z0-9_]+_href\}[a-z0-9_/-]*$/.test(path)) err(wherePath, 'detail paths must be "{<name>_href}" followed by a literal suffix');
    }
    if (templates.length > 1) err(wherePath, 'only one path parameter per path (pulp-glue substitutes just the last one)');
    if (!isObj(item)) {
      err(wherePath, 'not an object');
      continue;
    }
    onlyKeys(wherePath, item, [...PATH_ITEM_KEYS, ...METHODS]);
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!isObj(op)) {
        err(where, 'operation is not an object');
        continue;
      }
      onlyKeys(where, op, OPERATION_KEYS);
      const id = op.operationId;
      if (typeof id !== 'string' || !id) err(where, 'missing operationId');
      else {
        if (ids.has(id)) err(where, `duplicate operationId ${id} (also ${ids.get(id)})`);
        ids.set(id, where);
      }
      const opWhere = typeof id === 'string' ? `${id} (${where})` : where;

      // parameters
      const params = op.parameters;
      const pathParams = new Set<string>();
      const queryParams = new Map<string, Obj>();
      if (params !== undefined && !Array.isArray(params)) err(opWhere, 'parameters must be an array');
      for (const [i, p] of (Array.isArray(params) ? params : []).entries()) {
        const pw = `${opWhere} parameters[${i}]`;
        if (!isObj(p)) {
          err(pw, 'not an object');
          continue;
        }
        if ('$ref' in p) {
          onlyKeys(pw, p, REF_KEYS);
          continue;
        }
        onlyKeys(pw, p, PARAMETER_KEYS);
        if (typeof p.name !== 'string' || !p.name) err(pw, 'missing name');
        if (!['query', 'header', 'path', 'cookie'].includes(String(p.in))) err(pw, `invalid "in": ${String(p.in)}`);
        if (!isObj(p.schema) && !isObj(p.content)) err(pw, 'needs schema or content');
        if (isObj(p.schema)) checkSchema(`${pw}.schema`, p.schema, schemas, err);
        if (p.in === 'path') {
          if (p.required !== true) err(pw, 'path parameters must be required: true');
          pathParams.add(String(p.name));
        }
        if (p.in === 'query') queryParams.set(String(p.name), p);
        if (p.style !== undefined && !['form', 'simple', 'matrix', 'label', 'spaceDelimited', 'pipeDelimited', 'deepObject'].includes(String(p.style))) err(pw, `invalid style ${String(p.style)}`);
      }
      for (const t of templates) if (!pathParams.has(t)) err(opWhere, `path parameter {${t}} is not declared`);
      for (const p of pathParams) if (!templates.includes(p)) err(opWhere, `path parameter ${p} is not in the path`);
      if (typeof id === 'string') {
        if (/_list$/.test(id) && method === 'get') {
          if (!Array.isArray(params)) err(opWhere, 'list operations must have a parameters array');
          for (const n of ['limit', 'offset', 'ordering', 'fields', 'exclude_fields']) if (!queryParams.has(n)) err(opWhere, `list operation does not declare '${n}'`);
        }
        // pulp-glue's core quirk iterates these operations' parameters and reads content__in's schema type.
        if (/^(repository_versions_list|repositories_.+_versions_list|publications_.+_list)$/.test(id)) {
          if (!Array.isArray(params)) err(opWhere, 'needs a parameters key (pulp-glue quirk)');
          const ci = queryParams.get('content__in');
          if (ci && !(isObj(ci.schema) && typeof ci.schema.type === 'string')) err(opWhere, 'content__in needs schema.type');
        }
      }

      // request body
      if (op.requestBody !== undefined) {
        const rb = op.requestBody;
        const rw = `${opWhere} requestBody`;
        if (!isObj(rb)) err(rw, 'not an object');
        else if ('$ref' in rb) onlyKeys(rw, rb, REF_KEYS);
        else {
          onlyKeys(rw, rb, REQUEST_BODY_KEYS);
          if (!isObj(rb.content) || Object.keys(rb.content).length === 0) err(rw, 'needs content');
          else checkContent(rw, rb.content, schemas, err);
        }
      }

      // responses
      const responses = op.responses;
      if (!isObj(responses) || Object.keys(responses).length === 0) err(opWhere, 'needs responses');
      for (const [code, r] of Object.entries(isObj(responses) ? responses : {})) {
        const rw = `${opWhere} responses.${code}`;
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) err(rw, 'invalid status code key');
        if (!isObj(r)) {
          err(rw, 'not an object');
          continue;
        }
        if ('$ref' in r) {
          onlyKeys(rw, r, REF_KEYS);
          continue;
        }
        onlyKeys(rw, r, RESPONSE_KEYS);
        if (typeof r.description !== 'string') err(rw, 'missing description');
        if (r.content !== undefined) {
          if (!isObj(r.content)) err(rw, 'content must be an object');
          else {
            checkContent(rw, r.content, schemas, err);
            // The client asserts the response's exact Content-Type is a key here.
            if (/^2/.test(code) && !('application/json' in r.content)) err(rw, 'JSON responses must list exactly "application/json"');
          }
        } else if (code !== '204' && /^2/.test(code)) {
          err(rw, 'a 2xx response other than 204 needs content');
        }
      }

      // security
      const security = op.security ?? doc.security;
      if (security === undefined) err(opWhere, 'no security: pulp-glue would never send credentials');
      else if (!Array.isArray(security)) err(opWhere, 'security must be an array');
      else {
        let usable = false;
        for (const req of security) {
          if (!isObj(req)) {
            err(opWhere, 'security requirement must be an object');
            continue;
          }
          const names = Object.keys(req);
          if (names.length === 0) usable = true;
          if (names.length > 1) err(opWhere, 'one scheme per security requirement (pulp-cli 0.38 asserts it)');
          for (const n of names) {
            const s = schemes?.[n];
            if (!isObj(s)) err(opWhere, `unknown security scheme ${n}`);
            else if (s.type !== 'apiKey') usable = true;
            if (!Array.isArray(req[n])) err(opWhere, `security scopes of ${n} must be an array`);
          }
        }
        if (!usable) err(opWhere, 'no usable auth scheme (apiKey schemes are never used by pulp-glue)');
      }
    }
  }

  // pulp-glue quirk: with rpm advertised it needs `.../rpm/copy/` POST with schemas in every media type.
  if ('rpm' in versions) {
    const copy = Object.entries(isObj(paths) ? paths : {}).find(([p]) => p.endsWith('/rpm/copy/'));
    const post = copy && isObj(copy[1]) ? copy[1].post : undefined;
    const content = isObj(post) && isObj(post.requestBody) ? post.requestBody.content : undefined;
    if (!isObj(content) || !Object.values(content).every((m) => isObj(m) && isObj(m.schema))) {
      err('paths', 'rpm is advertised but no ".../rpm/copy/" POST with a requestBody schema exists (pulp-glue crashes)');
    }
  }

  for (const id of opts.requiredOperationIds ?? []) if (!ids.has(id)) err('paths', `operationId ${id} is missing`);
  return errors;
}

function checkContent(where: string, content: Obj, schemas: Obj, err: (w: string, m: string) => void): void {
  for (const [type, media] of Object.entries(content)) {
    const mw = `${where}.content["${type}"]`;
    if (!/^[a-z*]+\/[a-z0-9.+*-]+$/i.test(type)) err(mw, 'invalid media type');
    if (!isObj(media)) {
      err(mw, 'not an object');
      continue;
    }
    for (const k of Object.keys(media)) if (k !== 'schema' && !k.startsWith('x-')) err(mw, `unknown key '${k}' (only schema)`);
    if (!isObj(media.schema)) err(mw, 'needs a schema');
    else checkSchema(`${mw}.schema`, media.schema, schemas, err);
  }
}

/** Schemas may hold any keyword, but their `$ref`s must resolve and `type` must be a JSON type. */
function checkSchema(where: string, s: unknown, schemas: Obj, err: (w: string, m: string) => void, depth = 0): void {
  if (depth > 50) return;
  if (Array.isArray(s)) {
    s.forEach((x, i) => checkSchema(`${where}[${i}]`, x, schemas, err, depth + 1));
    return;
  }
  if (!isObj(s)) return;
  if (typeof s.$ref === 'string') {
    const m = /^#\/components\/schemas\/(.+)$/.exec(s.$ref);
    if (!m || !(m[1]! in schemas)) err(where, `unresolved $ref ${s.$ref}`);
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    for (const t of types) if (typeof t !== 'string' || !JSON_TYPES.has(t)) err(where, `invalid type ${JSON.stringify(t)}`);
  }
  for (const [k, v] of Object.entries(s)) {
    if (k === 'enum' || k === 'default' || k === 'example' || k === 'examples' || k === 'const') continue;
    if (k === 'properties' && isObj(v)) {
      for (const [pn, pv] of Object.entries(v)) checkSchema(`${where}.properties.${pn}`, pv, schemas, err, depth + 1);
    } else if (isObj(v) || Array.isArray(v)) checkSchema(`${where}.${k}`, v, schemas, err, depth + 1);
  }
}
