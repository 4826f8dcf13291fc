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

/**
 * Validates a body against a DTO: undeclared fields → "Unexpected field", missing required →
 * "This field is required.", wrong types → class-validator's message. Throws a 400.
 */
export async function validateBody<T extends object>(dto: ClassType<T>, plain: unknown): Promise<T> {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw fieldErrors({ non_field_errors: ['Invalid data. Expected a dictionary, but got ' + (Array.isArray(plain) ? 'list' : typeof plain) + '.'] });
  }
  const instance = plainToInstance(dto, plain, { exposeDefaultValues: true }) as T;
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false });
  if (errors.length) {
    const out: Record<string, string[]> = {};
    collect(errors, '', out);
    throw fieldErrors(out);
  }
  return instance;
}
