import { stringify as toYaml } from 'yaml';
import type { Platform } from '../platform';
import { PITH_VERSION, PULP_CORE_COMPATIBLE_VERSION } from '../platform';
import { buildEndpoints } from '../api/index';
import { buildOpenApi, type OpenApiDocument } from './openapi-builder';
import { lintOpenApi } from './openapi-lint';

export interface ServedOpenApi {
  document: OpenApiDocument;
  json: string;
  /** Serialized on first request only. */
  yaml(): string;
}

/** The document only changes with the plugin list, which is fixed per Platform: build it once. */
const cache = new WeakMap<Platform, ServedOpenApi>();

/** Builds the document for a platform's endpoints (no database access needed). */
export function buildPlatformOpenApi(p: Platform): { document: OpenApiDocument; problems: string[] } {
  const { document, problems } = buildOpenApi(buildEndpoints(p), {
    componentVersions: p.registry.componentVersions(PULP_CORE_COMPATIBLE_VERSION),
    pithVersion: PITH_VERSION,
  });
  return { document, problems: [...problems, ...lintOpenApi(document)] };
}

export function openApiFor(p: Platform): ServedOpenApi {
  const hit = cache.get(p);
  if (hit) return hit;
  const { document, problems } = buildPlatformOpenApi(p);
  // A broken declaration still yields a document (clients fail on the broken operation only), but
  // operators must see it.
  if (problems.length) p.logger.warn('OpenAPI document has problems', { problems });
  let yaml: string | undefined;
  const served: ServedOpenApi = {
    document,
    json: JSON.stringify(document),
    yaml: () => (yaml ??= toYaml(document, { aliasDuplicateObjects: false })),
  };
  cache.set(p, served);
  return served;
}
