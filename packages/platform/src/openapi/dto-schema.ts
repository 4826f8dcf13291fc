import { getMetadataStorage } from 'class-validator';

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];
import type { ClassType } from '@pith/plugin-api';

export type JsonSchema = Record<string, unknown>;

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

interface ClassTransformerStorage {
  findTypeMetadata(target: ClassType, propertyName: string): { typeFunction: (o?: unknown) => unknown } | undefined;
}

/** class-transformer keeps `@Type(() => X)` here; used to document nested DTOs. */
function transformerStorage(): ClassTransformerStorage | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('class-transformer/cjs/storage') as { defaultMetadataStorage: ClassTransformerStorage }).defaultMetadataStorage;
  } catch {
    return undefined;
  }
}

const JSON_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'object', 'array', 'null']);

/** Component names must match OpenAPI's `^[a-zA-Z0-9._-]+$`. */
export function componentName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, '_');
  return cleaned || 'Body';
}

/** Applies one class-validator constraint to a schema (the property itself or its array items). */
function applyConstraint(name: string, constraints: unknown[] | undefined, s: JsonSchema): void {
  const c0 = constraints?.[0];
  const c1 = constraints?.[1];
  switch (name.toLowerCase()) {
    case 'isstring': s.type = 'string'; break;
    case 'isint': s.type = 'integer'; break;
    case 'isnumber': if (s.type !== 'integer') s.type = 'number'; break;
    case 'isboolean': s.type = 'boolean'; break;
    case 'isarray': s.type = 'array'; break;
    case 'isobject': s.type = 'object'; break;
    case 'isnotemptyobject': s.type = 'object'; s.minProperties = 1; break;
    case 'isnotempty': s['x-not-empty'] = true; break;
    case 'isin': if (Array.isArray(c0)) s.enum = [...c0]; break;
    case 'isenum': if (Array.isArray(c1)) s.enum = [...c1]; break;
    case 'min': if (typeof c0 === 'number') s.minimum = c0; break;
    case 'max': if (typeof c0 === 'number') s.maximum = c0; break;
    // pulp-glue reads exclusiveMinimum/Maximum as 3.0 booleans: express the bound only for integers.
    case 'ispositive': s['x-sign'] = 1; break;
    case 'isnegative': s['x-sign'] = -1; break;
    case 'minlength': if (typeof c0 === 'number') s.minLength = c0; break;
    case 'maxlength': if (typeof c0 === 'number') s.maxLength = c0; break;
    case 'length':
      if (typeof c0 === 'number') s.minLength = c0;
      if (typeof c1 === 'number') s.maxLength = c1;
      break;
    case 'matches':
      s.type = 'string';
      if (c0 instanceof RegExp) s.pattern = c0.source;
      else if (typeof c0 === 'string') s.pattern = c0;
      break;
    case 'isuuid': s.type = 'string'; s.format = 'uuid'; break;
    case 'isurl': s.type = 'string'; s.format = 'uri'; break;
    case 'isemail': s.type = 'string'; s.format = 'email'; break;
    case 'isiso8601':
    case 'isdatestring':
    case 'isdate':
      s.type = 'string'; s.format = 'date-time'; break;
    case 'ishexadecimal': s.type = 'string'; s.pattern = '^[0-9a-fA-F]+$'; break;
    case 'isnumberstring': s.type = 'string'; s.pattern = '^-?[0-9]+(\\.[0-9]+)?$'; break;
    case 'isjson': s.type = 'string'; break;
    case 'arrayminsize': s.type = 'array'; if (typeof c0 === 'number') s.minItems = c0; break;
    case 'arraymaxsize': s.type = 'array'; if (typeof c0 === 'number') s.maxItems = c0; break;
    case 'arraynotempty': s.type = 'array'; s.minItems = 1; break;
    case 'arrayunique': s.type = 'array'; s.uniqueItems = true; break;
    default: break; // custom validators: the type falls back on the property's design type
  }
}

function fromDesignType(t: unknown): JsonSchema {
  if (t === String) return { type: 'string' };
  if (t === Number) return { type: 'number' };
  if (t === Boolean) return { type: 'boolean' };
  if (t === Array) return { type: 'array' };
  if (t === Date) return { type: 'string', format: 'date-time' };
  return {};
}

function finishFlags(s: JsonSchema): void {
  if (s['x-sign'] !== undefined) {
    if (s.type === 'integer' && s['x-sign'] === 1 && s.minimum === undefined) s.minimum = 1;
    if (s.type === 'integer' && s['x-sign'] === -1 && s.maximum === undefined) s.maximum = -1;
    delete s['x-sign'];
  }
  if (s['x-not-empty']) {
    delete s['x-not-empty'];
    if (s.type === 'string' && s.minLength === undefined) s.minLength = 1;
    if (s.type === 'array' && s.minItems === undefined) s.minItems = 1;
  }
}

/** `type: [T, "null"]` (OpenAPI 3.1), or anyOf for references. */
export function makeNullable(s: JsonSchema): JsonSchema {
  if (typeof s.$ref === 'string') return { anyOf: [s, { type: 'null' }] };
  if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null];
  if (typeof s.type === 'string') s.type = s.type === 'null' ? 'null' : [s.type, 'null'];
  else if (Array.isArray(s.type) && !s.type.includes('null')) s.type = [...s.type, 'null'];
  // An untyped schema already accepts anything, null included.
  return s;
}

/**
 * Generates JSON Schemas for class-validator DTOs and keeps them as named components. The
 * same class always maps to the same component; different classes that share a name get a suffix.
 */
export class DtoSchemaRegistry {
  readonly schemas: Record<string, JsonSchema> = {};
  private readonly byKey = new Map<ClassType, Map<string, string>>();
  private readonly storage = transformerStorage();

  /** A `$ref` to the component of `dto`; `fileFields` are documented as binary strings. */
  ref(dto: ClassType, fileFields: string[] = [], namePrefix = ''): JsonSchema {
    return { $ref: SCHEMA_REF_PREFIX + this.register(dto, fileFields, namePrefix) };
  }

  /** Registers `dto` (and any nested DTO) and returns its component name. */
  register(dto: ClassType, fileFields: string[] = [], namePrefix = ''): string {
    const key = `${namePrefix}|${[...fileFields].sort().join(',')}`;
    let perClass = this.byKey.get(dto);
    const known = perClass?.get(key);
    if (known) return known;
    if (!perClass) {
      perClass = new Map();
      this.byKey.set(dto, perClass);
    }
    const base = componentName(namePrefix + (dto.name || 'Body'));
    let name = base;
    for (let i = 2; this.schemas[name] !== undefined; i++) name = `${base}${i}`;
    perClass.set(key, name);
    this.schemas[name] = { type: 'object' }; // placeholder first: nested self-references terminate
    this.schemas[name] = this.objectSchema(dto, new Set(fileFields));
    return name;
  }

  /** Whether a request body of this class has required properties. */
  hasRequired(dto: ClassType): boolean {
    return this.describe(dto).some((p) => p.required);
  }

  private metadatas(dto: ClassType): ValidationMetadata[] {
    return getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  }

  private defaults(dto: ClassType): Record<string, unknown> {
    try {
      return new dto() as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  private describe(dto: ClassType, fileFields: Set<string> = new Set()): Array<{ name: string; schema: JsonSchema; required: boolean }> {
    const byProp = new Map<string, ValidationMetadata[]>();
    for (const m of this.metadatas(dto)) {
      const list = byProp.get(m.propertyName) ?? [];
      list.push(m);
      byProp.set(m.propertyName, list);
    }
    const defaults = this.defaults(dto);
    const out: Array<{ name: string; schema: JsonSchema; required: boolean }> = [];
    for (const [prop, metas] of byProp) {
      let optional = false;
      let nullable = false;
      let defined = false;
      let nested: ClassType | undefined;
      let eachSeen = false;
      const s: JsonSchema = {};
      const items: JsonSchema = {};
      for (const m of metas) {
        if (m.type === 'conditionalValidation') {
          // IsOptional / ValidateIf: validation is skipped when the condition is false. Probe the
          // condition with null to learn whether null gets through (IsOptional) or is still
          // validated (`ValidateIf(o => o.x !== undefined)`, i.e. optional but not nullable).
          optional = true;
          const condition = m.constraints?.[0];
          let nullSkips = true;
          if (typeof condition === 'function') {
            try {
              nullSkips = !condition({ [prop]: null }, null);
            } catch {
              nullSkips = true;
            }
          }
          if (nullSkips) nullable = true;
          continue;
        }
        if (m.type === 'isDefined') {
          defined = true;
          continue;
        }
        if (m.type === 'nestedValidation') {
          const tm = this.storage?.findTypeMetadata(dto, prop);
          const t = tm?.typeFunction();
          if (typeof t === 'function' && t !== Object) nested = t as ClassType;
          if (m.each) eachSeen = true;
          continue;
        }
        if (m.type !== 'customValidation' || !m.name) continue;
        if (m.each) {
          eachSeen = true;
          applyConstraint(m.name, m.constraints, items);
        } else applyConstraint(m.name, m.constraints, s);
      }
      const design = Reflect.getMetadata?.('design:type', dto.prototype, prop) as unknown;
      let schema: JsonSchema;
      if (fileFields.has(prop)) {
        schema = { type: 'string', format: 'binary' };
      } else if (nested) {
        const ref = this.ref(nested);
        const asArray = eachSeen || s.type === 'array' || design === Array;
        if (asArray) s.type = 'array';
        finishFlags(s);
        schema = asArray ? { ...s, items: ref } : ref;
      } else {
        if (s.type === undefined && Array.isArray(s.enum)) {
          if (s.enum.every((v) => typeof v === 'string')) s.type = 'string';
          else if (s.enum.every((v) => Number.isInteger(v))) s.type = 'integer';
        }
        if (s.type === undefined && s.enum === undefined) Object.assign(s, fromDesignType(design));
        if (eachSeen && s.type === undefined) s.type = 'array';
        if (s.type === 'array') {
          if (items.type === undefined && items.enum === undefined && Object.keys(items).length === 0) s.items = {};
          else {
            finishFlags(items);
            s.items = items;
          }
        }
        finishFlags(s);
        if (typeof s.type === 'string' && !JSON_TYPES.has(s.type)) delete s.type;
        schema = s;
      }
      if (nullable && !fileFields.has(prop)) schema = makeNullable(schema);
      const hasDefault = defaults[prop] !== undefined;
      if (hasDefault && typeof schema.$ref !== 'string' && isJsonValue(defaults[prop])) schema.default = defaults[prop];
      out.push({ name: prop, schema, required: defined || (!optional && !hasDefault) });
    }
    return out;
  }

  private objectSchema(dto: ClassType, fileFields: Set<string>): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const p of this.describe(dto, fileFields)) {
      properties[p.name] = p.schema;
      if (p.required) required.push(p.name);
    }
    // A file field that the DTO does not declare is still part of the multipart body.
    for (const f of fileFields) if (!properties[f]) properties[f] = { type: 'string', format: 'binary' };
    const schema: JsonSchema = { type: 'object', properties };
    if (required.length) schema.required = required;
    return schema;
  }
}

function isJsonValue(v: unknown): boolean {
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return true;
  if (Array.isArray(v)) return v.every(isJsonValue);
  if (typeof v === 'object') return Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(isJsonValue);
  return false;
}
