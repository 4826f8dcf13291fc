import type { Endpoint } from '../http/endpoint';
import { API_ROOT } from '../http/hrefs';
import { PULP_CORE_COMPATIBLE_VERSION, type Platform } from '../platform';

const APP_LIST = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      last_heartbeat: { type: 'string', format: 'date-time' },
      versions: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['name', 'last_heartbeat', 'versions'],
  },
};

const STATUS_SCHEMA = {
  type: 'object',
  properties: {
    versions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          component: { type: 'string' },
          version: { type: 'string' },
          package: { type: 'string' },
          module: { type: 'string' },
          domain_compatible: { type: 'boolean' },
        },
        required: ['component', 'version', 'package', 'module', 'domain_compatible'],
      },
    },
    online_workers: APP_LIST,
    online_api_apps: APP_LIST,
    online_content_apps: APP_LIST,
    database_connection: { type: 'object', properties: { connected: { type: 'boolean' } }, required: ['connected'] },
    redis_connection: { type: 'object', properties: { connected: { type: 'boolean' } }, required: ['connected'] },
    storage: {
      type: 'object',
      properties: { total: { type: ['integer', 'null'] }, used: { type: ['integer', 'null'] }, free: { type: ['integer', 'null'] } },
    },
    content_settings: {
      type: 'object',
      properties: { content_origin: { type: ['string', 'null'] }, content_path_prefix: { type: 'string' } },
      required: ['content_origin', 'content_path_prefix'],
    },
    domain_enabled: { type: 'boolean' },
  },
  required: ['versions', 'online_workers', 'online_api_apps', 'online_content_apps', 'database_connection', 'storage', 'content_settings', 'domain_enabled'],
};

/**
 * `status/` and `livez/`: anonymous (pulpcore has no authentication on them), but a Basic header
 * is still accepted because pulp-cli 0.38 always sends one.
 */
export function statusEndpoints(p: Platform): Endpoint[] {
  return [
    {
      method: 'GET',
      path: `${API_ROOT}status/`,
      openapiPath: `${API_ROOT}status/`,
      operationId: 'status_read',
      tag: 'Status',
      summary: 'Inspect status of Pulp',
      anonymous: true,
      responses: { 200: { description: 'Status of the services Pith depends on', schema: STATUS_SCHEMA } },
      handler: async () => ({ status: 200, body: { ...(await p.status.report(PULP_CORE_COMPATIBLE_VERSION)) } }),
    },
    {
      method: 'GET',
      path: `${API_ROOT}livez/`,
      openapiPath: `${API_ROOT}livez/`,
      operationId: 'livez_read',
      tag: 'Livez',
      summary: "Inspect liveness of Pulp's REST API.",
      anonymous: true,
      // Like pulpcore: 200 and an empty body as long as this process answers.
      responses: { 200: { description: 'No response body' } },
      handler: async () => ({ status: 200 }),
    },
  ];
}
