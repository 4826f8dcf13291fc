import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { PithConfig } from '../config/pith-config';
import { fieldError } from '../http/errors';
import { resolveAllowed } from './allowed-paths';
import type { PluginRegistry } from '../plugins/plugin-registry';
import { ArchiveError, readToc } from './archive';
import { compatibilityProblems } from './manifest-check';
import type { ExportManifest } from './export-manifest';

/** One answer of import-check (Pulp's EvaluationSerializer). */
export interface Evaluation {
  /** The value evaluated, as given. */
  context: string;
  is_valid: boolean;
  messages: string[];
}

export interface ImportCheckInputs {
  path?: string | null;
  toc?: string | null;
  /** A JSON string (Pulp takes the mapping as a string here). */
  repo_mapping?: string | null;
}

export type ImportCheckResult = Partial<Record<'path' | 'toc' | 'repo_mapping', Evaluation>>;

type AllowedConfig = Pick<PithConfig, 'PITH_ALLOWED_IMPORT_PATHS'>;

/** "not an allowed import path", naming what is allowed (or that nothing is). */
export function notAllowedMessage(value: string, allowed: string[], kind: 'import' | 'export'): string {
  const setting = kind === 'import' ? 'PITH_ALLOWED_IMPORT_PATHS' : 'PITH_ALLOWED_EXPORT_PATHS';
  if (allowed.length === 0) return `'${value}' is not an allowed ${kind} path: ${setting} is empty, so ${kind}s are disabled until it is configured.`;
  return `'${value}' is not an allowed ${kind} path; allowed: ${allowed.join(', ')}.`;
}

/**
 * Checks an archive or TOC path the way Pulp's import-check does: allowed (if not, nothing else is
 * looked at, so the API cannot probe the filesystem elsewhere), containing directory present,
 * file present, regular, readable. `resolved` is the realpath when the file is usable.
 */
export async function evaluateImportFile(allowed: string[], value: string): Promise<{ is_valid: boolean; messages: string[]; resolved: string | null }> {
  const refuse = (message: string) => ({ is_valid: false, messages: [message], resolved: null });
  if (!path.isAbsolute(value)) return refuse(`'${value}' is not an absolute path.`);
  const real = resolveAllowed(value, allowed);
  if (real === null) return refuse(notAllowedMessage(value, allowed, 'import'));
  const dir = path.dirname(real);
  try {
    const d = await stat(dir);
    if (!d.isDirectory()) return refuse(`${dir} is not a directory`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(code === 'ENOENT' ? `directory ${dir} does not exist` : `directory ${dir} cannot be read (${code ?? 'error'})`);
  }
  let isFile: boolean;
  try {
    isFile = (await stat(real)).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(code === 'ENOENT' ? `file ${real} does not exist` : `file ${real} cannot be read (${code ?? 'error'})`);
  }
  const messages: string[] = [];
  if (!isFile) messages.push(`${real} is not a file`);
  try {
    await access(real, constants.R_OK);
  } catch {
    messages.push(`${real} exists but cannot be read`);
  }
  return { is_valid: messages.length === 0, messages, resolved: messages.length === 0 ? real : null };
}

/** `repo_mapping` of import-check: a JSON string holding an object of non-empty strings. */
export function evaluateRepoMapping(value: string): { is_valid: boolean; messages: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { is_valid: false, messages: ['invalid JSON'] };
  }
  const ok = !!parsed && typeof parsed === 'object' && !Array.isArray(parsed) &&
    Object.entries(parsed as Record<string, unknown>).every(([k, v]) => k.length > 0 && typeof v === 'string' && v.length > 0);
  return ok
    ? { is_valid: true, messages: [] }
    : { is_valid: false, messages: ['repo_mapping must be a JSON object mapping upstream repository names to local repository names (non-empty strings)'] };
}

/** What a TOC check needs to know about this installation. */
export interface InstalledComponents {
  versions: Record<string, string>;
  registry: PluginRegistry;
}

/**
 * Beyond Pulp's checks (it never opens the TOC, #2266): the TOC parses, every listed chunk is
 * present with its listed size (not hashed: the import verifies digests before writing), and the
 * export's components and repository types can be imported here. Cheap enough for a synchronous call.
 */
async function tocProblems(file: string, installed: InstalledComponents): Promise<string[]> {
  let toc;
  try {
    toc = await readToc(file);
  } catch (e) {
    if (e instanceof ArchiveError) return [e.message];
    throw e;
  }
  if (toc.format !== 'pith') return ['This TOC belongs to a Pulp 3 export; Pith imports archives written by Pith exporters.'];
  const problems: string[] = [];
  for (const c of toc.chunks) {
    const st = await stat(c.path).catch(() => null);
    if (!st || !st.isFile()) problems.push(`chunk ${c.name} is missing`);
    else if (c.size !== null && st.size !== c.size) problems.push(`chunk ${c.name} has ${st.size} bytes, the TOC lists ${c.size}`);
  }
  const manifest = toc.manifest as ExportManifest | undefined;
  if (!manifest || typeof manifest !== 'object' || !manifest.components) problems.push('the TOC carries no export manifest');
  else problems.push(...compatibilityProblems(manifest, installed.versions, installed.registry));
  return problems;
}

/**
 * The synchronous import-check (Pulp §1.4): one evaluation per supplied field. The caller ensures
 * at least one field is present. With `installed`, a usable TOC is also opened and checked.
 */
export async function checkImportInputs(config: AllowedConfig, body: ImportCheckInputs, installed?: InstalledComponents): Promise<ImportCheckResult> {
  const out: ImportCheckResult = {};
  for (const field of ['toc', 'path'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const { is_valid, messages, resolved } = await evaluateImportFile(config.PITH_ALLOWED_IMPORT_PATHS, value);
    const more = field === 'toc' && resolved && installed ? await tocProblems(resolved, installed) : [];
    out[field] = { context: value, is_valid: is_valid && more.length === 0, messages: [...messages, ...more] };
  }
  if (body.repo_mapping !== undefined && body.repo_mapping !== null) {
    out.repo_mapping = { context: body.repo_mapping, ...evaluateRepoMapping(body.repo_mapping) };
  }
  return out;
}

/** For `imports` POST: the realpath of a usable archive/TOC, or a 400 on `field` with every problem. */
export async function requireImportFile(config: AllowedConfig, field: string, value: string): Promise<string> {
  const r = await evaluateImportFile(config.PITH_ALLOWED_IMPORT_PATHS, value);
  if (!r.resolved) throw fieldError(field, r.messages.join('; '));
  return r.resolved;
}
