import { TaskError } from '@pith/plugin-api';
import type { PluginRegistry } from '../plugins/plugin-registry';
import {
  EXPORT_FORMAT, EXPORT_FORMAT_VERSION, majorMinor, memberName, type ExportManifest, type ManifestMember, type ManifestRepository,
} from './export-manifest';
import { isPlainObject } from './row-validation';

const SHA256 = /^[0-9a-f]{64}$/;
const SETS = new Set(['present', 'added', 'removed']);

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new TaskError(`The export's manifest is invalid: ${what}.`);
}

const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const countOrNull = (v: unknown) => v === null || count(v);

function checkMember(m: unknown, repoIndex: number, at: string): ManifestMember {
  need(isPlainObject(m), `${at} is not an object`);
  need(typeof m.resource === 'string' && /^[A-Za-z0-9_.-]{1,200}$/.test(m.resource), `${at}.resource is not a resource name`);
  need(typeof m.set === 'string' && SETS.has(m.set), `${at}.set must be present, added or removed`);
  need(m.name === memberName(repoIndex, m.resource as string, m.set as never), `${at}.name does not match its repository, resource and set`);
  need(count(m.rows) && count(m.size), `${at}.rows/size must be counts`);
  need(typeof m.sha256 === 'string' && SHA256.test(m.sha256), `${at}.sha256 is not a sha256`);
  return m as unknown as ManifestMember;
}

function checkRepository(r: unknown, i: number): ManifestRepository {
  const at = `repositories[${i}]`;
  need(isPlainObject(r), `${at} is not an object`);
  need(r.index === i, `${at}.index must be ${i}`);
  need(typeof r.name === 'string' && r.name.length > 0 && r.name.length <= 255 && !r.name.includes('\0'), `${at}.name is not a repository name`);
  need(typeof r.pulp_type === 'string' && typeof r.plugin === 'string', `${at}.pulp_type/plugin are missing`);
  need(r.description === null || typeof r.description === 'string', `${at}.description must be a string or null`);
  need(Number.isSafeInteger(r.version) && (r.version as number) >= 0, `${at}.version is not a version number`);
  need(r.base_version === null || (Number.isSafeInteger(r.base_version) && (r.base_version as number) >= 0), `${at}.base_version is not a version number`);
  need((r.base_version === null) === (r.base_fingerprint === null), `${at}.base_fingerprint must accompany base_version`);
  need(typeof r.fingerprint === 'string' && (r.base_fingerprint === null || typeof r.base_fingerprint === 'string'), `${at}.fingerprint is missing`);
  need(count(r.content_count) && countOrNull(r.added_count) && countOrNull(r.removed_count), `${at} counts are invalid`);
  need(Array.isArray(r.members), `${at}.members is not a list`);
  (r.members as unknown[]).forEach((m, j) => checkMember(m, i, `${at}.members[${j}]`));
  return r as unknown as ManifestRepository;
}

/** Parses and checks the manifest's shape (untrusted JSON): a clear error for anything off. */
export function parseManifest(text: string): ExportManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new TaskError(`The export's manifest is not valid JSON: ${(e as Error).message}.`);
  }
  need(isPlainObject(m), 'it is not an object');
  need(m.format === EXPORT_FORMAT, `format is ${JSON.stringify(m.format)}, expected "${EXPORT_FORMAT}" (a Pith export)`);
  need(Number.isSafeInteger(m.format_version), 'format_version is missing');
  if (m.format_version !== EXPORT_FORMAT_VERSION) {
    throw new TaskError(`The export uses archive format version ${String(m.format_version)}; this Pith reads version ${EXPORT_FORMAT_VERSION}.`);
  }
  need(typeof m.export_id === 'string' && typeof m.exporter === 'string' && typeof m.created === 'string', 'export_id/exporter/created are missing');
  need(isPlainObject(m.components) && Object.values(m.components).every((v) => typeof v === 'string'), 'components must map names to versions');
  need(typeof m.incremental === 'boolean', 'incremental must be a boolean');
  need(isPlainObject(m.artifacts) && count(m.artifacts.count) && count(m.artifacts.bytes) &&
    typeof m.artifacts.list_sha256 === 'string' && SHA256.test(m.artifacts.list_sha256), 'artifacts must give count, bytes and list_sha256');
  need(Array.isArray(m.repositories), 'repositories is not a list');
  const repos = (m.repositories as unknown[]).map(checkRepository);
  need(new Set(repos.map((r) => r.name)).size === repos.length, 'a repository is listed twice');
  return m as unknown as ExportManifest;
}

/**
 * Problems importing this manifest here: components not installed or of another major.minor
 * version (Pulp's rule), repository types unknown or not importable.
 */
export function compatibilityProblems(m: ExportManifest, installed: Record<string, string>, registry: PluginRegistry): string[] {
  const problems: string[] = [];
  for (const [component, version] of Object.entries(m.components)) {
    const here = installed[component];
    if (!here) problems.push(`The export uses ${component} ${version}, which is not installed here.`);
    else if (majorMinor(here) !== majorMinor(version)) {
      problems.push(`Export version ${version} of ${component} is incompatible with installed version ${here}.`);
    }
  }
  for (const r of m.repositories) {
    if (!registry.repositoryTypes.has(r.pulp_type)) problems.push(`Repository '${r.name}' is of type ${r.pulp_type}, which is not installed here.`);
    else if (!registry.exportableFor(r.pulp_type)) problems.push(`Repository '${r.name}' is of type ${r.pulp_type}, which cannot be imported here.`);
  }
  return problems;
}
