import type { ClassType } from '@pith/plugin-api';
import { getMetadataStorage, ValidateIf, ValidationTypes } from 'class-validator';

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

interface TransformerMeta {
  target: unknown;
  propertyName: string;
}

interface TransformerStorage {
  findTypeMetadata(target: unknown, prop: string): TransformerMeta | undefined;
  addTypeMetadata(m: TransformerMeta): void;
  findTransformMetadatas(target: unknown, prop: string, type: number): TransformerMeta[];
  addTransformMetadata(m: TransformerMeta): void;
}

function transformerStorage(): TransformerStorage | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerStorage }).defaultMetadataStorage;
  } catch {
    return undefined;
  }
}

/** Validation metadata of a DTO (own and inherited). */
export function validationMetadata(dto: ClassType): ValidationMetadata[] {
  return getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
}

export function dtoProperties(dto: ClassType): string[] {
  return [...new Set(validationMetadata(dto).map((m) => m.propertyName))];
}

function named<T extends ClassType>(name: string, base: T): T {
  const C = class extends base {};
  Object.defineProperty(C, 'name', { value: name });
  return C as T;
}

/**
 * `class <name> extends base {}` plus every validation (and class-transformer) rule of `extra`,
 * so one class validates the platform's core fields and a plugin's detail fields and still
 * rejects anything else. A property declared by both is a declaration error (thrown at boot).
 */
export function combineDtos(name: string, base: ClassType, extra?: ClassType): ClassType {
  const C = named(name, base);
  if (!extra) return C;
  const baseProps = new Set(dtoProperties(base));
  const clash = dtoProperties(extra).filter((p) => baseProps.has(p));
  if (clash.length) throw new Error(`${name}: detail DTO ${extra.name} redeclares platform field(s) ${clash.join(', ')}`);
  const storage = getMetadataStorage();
  for (const m of validationMetadata(extra)) {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(m) as object) as ValidationMetadata, m, { target: C });
    storage.addValidationMetadata(copy);
  }
  const ts = transformerStorage();
  if (ts) {
    for (const prop of dtoProperties(extra)) {
      const t = ts.findTypeMetadata(extra, prop);
      if (t) ts.addTypeMetadata({ ...t, target: C });
      for (const type of [0, 2]) {
        // 0 = PLAIN_TO_CLASS, 2 = CLASS_TO_CLASS (class-transformer's TransformationType)
        for (const tm of ts.findTransformMetadatas(extra, prop, type)) ts.addTransformMetadata({ ...tm, target: C });
      }
    }
  }
  return C;
}

/**
 * The PATCH variant of a DTO: every property may be omitted (but an explicit null is still
 * validated, so non-nullable fields reject it). Properties that are already conditional
 * (`@IsOptional`, `@ValidateIf`) are left as declared.
 */
export function partialDto(name: string, dto: ClassType): ClassType {
  const C = named(name, dto);
  const metas = validationMetadata(dto);
  for (const prop of dtoProperties(dto)) {
    const conditional = metas.some((m) => m.propertyName === prop && m.type === ValidationTypes.CONDITIONAL_VALIDATION);
    if (!conditional) ValidateIf((o: Record<string, unknown>) => o[prop] !== undefined)(C.prototype as object, prop);
  }
  return C;
}
