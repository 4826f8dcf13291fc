import { ValidateBy, type ValidationOptions } from 'class-validator';

/** Longest relative path accepted (PostgreSQL text has no limit; clients and filesystems do). */
export const MAX_RELATIVE_PATH = 4096;

// Control characters would corrupt PULP_MANIFEST lines and HTTP paths.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a relative path is unacceptable, or null when it is fine. A relative path names a file
 * inside a publication, so it must stay inside it: no leading `/`, no empty, `.` or `..`
 * segments (which also rules out `//` and a trailing `/`), no control characters.
 */
export function relativePathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'This field may not be blank.';
  if (path.length > MAX_RELATIVE_PATH) return `Ensure this field has no more than ${MAX_RELATIVE_PATH} characters.`;
  if (path.startsWith('/')) return "Relative path cannot begin with '/'.";
  if (CONTROL.test(path)) return 'Relative path cannot contain control characters.';
  for (const segment of path.split('/')) {
    if (segment === '') return 'Relative path cannot contain empty path segments.';
    if (segment === '..' || segment === '.') return `Relative path cannot contain '${segment}' segments.`;
  }
  return null;
}

/** class-validator rule: a string that `relativePathProblem` accepts (null passes: nullable fields). */
export function IsRelativePath(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRelativePath',
      validator: {
        validate: (v: unknown) => v === null || relativePathProblem(v) === null,
        defaultMessage: (args) => relativePathProblem(args?.value) ?? 'Invalid relative path.',
      },
    },
    options,
  );
}
