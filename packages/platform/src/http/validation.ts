import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate, type ValidationError } from 'class-validator';
import type { ClassType } from '@pith/plugin-api';
import { fieldErrors } from './errors';

type Kind = 'boolean' | 'number' | 'json' | 'string';

const kindCache = new WeakMap<ClassType, Map<string, Kind>>();

/** Which properties of a DTO need coercion from form strings, read from class-validator metadata. */
function propertyKinds(dto: ClassType): Map<string, Kind> {
  let kinds = kindCache.get(dto);
  if (kinds) return kinds;
  kinds = new Map();
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  for (const m of metas) {
    const name = m.name ?? m.constraintCls?.name ?? '';
    const n = name.toLowerCase();
    let k: Kind | undefined;
    if (n === 'isboolean') k = 'boolean';
    else if (n === 'isint' || n === 'isnumber' || n === 'min' || n === 'max' || n === 'ispositive') k = 'number';
    else if (n === 'isobject' || n === 'isarray' || n === 'validatenested' || n === 'arraymaxsize' || n === 'arrayminsize') k = 'json';
    if (k && kinds.get(m.propertyName) !== 'json') kinds.set(m.propertyName, k);
  }
  kindCache.set(dto, kinds);
  return kinds;
}

export function declaredProperties(dto: ClassType): Set<string> {
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return new Set(metas.map((m) => m.propertyName));
}

/** Form and multipart values arrive as strings: convert them by the DTO's declared types. */
export function coerceFormValues(dto: ClassType, raw: Record<string, unknown>): Record<string, unknown> {
  const kinds = propertyKinds(dto);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const kind = kinds.get(key);
    if (typeof value !== 'string' || !kind) {
      out[key] = value;
      continue;
    }
    if (kind === 'boolean') out[key] = value === 'true' || value === 'True' ? true : value === 'false' || value === 'False' ? false : value;
    else if (kind === 'number') out[key] = value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
    else if (kind === 'json') {
      try {
        out[key] = JSON.parse(value);
      } catch {
        // Arrays sent as comma-joined strings (urlencoded forms).
        out[key] = value === '' ? [] : value;
      }
    } else out[key] = value;
  }
  return out;
}

function collect(errors: ValidationError[], prefix: string, into: Record<string, string[]>): void {
  for (const e of errors) {
    const key = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const msgs: string[] = [];
      for (const [name, msg] of Object.entries(e.constraints)) {
        if (name === 'whitelistValidation') msgs.push('Unexpected field');
        else if (e.value === undefined && (name === 'isDefined' || !e.constraints.isOptional)) {
          if (!msgs.includes('This field is required.')) msgs.push('This field is required.');
        } else msgs.push(msg);
      }
      into[key] = [...(into[key] ?? []), ...msgs];
    }
    if (e.children?.length) collect(e.children, key, into);
  }
}

/** Deeper than any real body; recursive code further on (class-transformer) must never see more. */
export const MAX_BODY_DEPTH = 32;
const NUL_MESSAGE = 'Null characters are not allowed.';

/**
 * What is wrong with a value whatever its DTO says: NUL characters (PostgreSQL text cannot store
 * them; DRF's message) or nesting beyond MAX_BODY_DEPTH. Iterative, so any input is safe.
 */
export function hostileValueProblem(value: unknown): string | null {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return NUL_MESSAGE;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) return `Nested too deeply (more than ${MAX_BODY_DEPTH} levels).`;
    if (Array.isArray(v)) for (const x of v) stack.push([x, depth + 1]);
    else {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return NUL_MESSAGE;
        stack.push([x, depth + 1]);
      }
    }
  }
  return null;
}

/**
 * Validates a body against a DTO: undeclared fields → "Unexpected field", missing required →
 * "This field is required.", wrong types → class-validator's message. Throws a 400.
 * Undeclared keys (`__proto__` included) and hostile values are refused before class-transformer
 * sees them, so they can neither reshape the instance nor exhaust the stack.
 */
export async function validateBody<T extends object>(dto: ClassType<T>, plain: unknown): Promise<T> {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw fieldErrors({ non_field_errors: ['Invalid data. Expected a dictionary, but got ' + (Array.isArray(plain) ? 'list' : typeof plain) + '.'] });
  }
  const declared = declaredProperties(dto);
  // Null prototype: a `__proto__` key is then an ordinary key of the error map.
  const refused: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const accepted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plain)) {
    const problem = declared.has(key) ? hostileValueProblem(value) : 'Unexpected field';
    if (problem) refused[key] = [problem];
    else accepted[key] = value;
  }
  const instance = plainToInstance(dto, accepted, { exposeDefaultValues: true }) as T;
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false });
  if (errors.length || Object.keys(refused).length) {
    const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    for (const key of Object.keys(refused)) if (refused[key]![0] === 'Unexpected field') out[key] = refused[key]!;
    collect(errors, '', out);
    // A refused declared field is reported once, with its real problem (not "required").
    for (const key of Object.keys(refused)) out[key] = refused[key]!;
    throw fieldErrors(out);
  }
  return instance;
}
