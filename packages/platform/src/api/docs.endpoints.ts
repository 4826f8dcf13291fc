import type { Endpoint } from '../http/endpoint';
import { API_ROOT } from '../http/hrefs';
import type { Platform } from '../platform';
import { openApiFor } from '../openapi/openapi-document';

/**
 * The generated OpenAPI document. Anonymous: pulp-glue fetches it without credentials. The
 * document is built once per process and served from memory (it is left out of itself, as in Pulp).
 */
export function docsEndpoints(p: Platform): Endpoint[] {
  const send = (contentType: string, text: () => string): Endpoint['handler'] => async (ctx) => {
    const body = text();
    ctx.res.status(200);
    ctx.res.setHeader('Content-Type', contentType);
    ctx.res.setHeader('Content-Length', Buffer.byteLength(body));
    ctx.res.setHeader('Cache-Control', 'public, max-age=300');
    ctx.res.end(body);
    return { status: 200, raw: true };
  };
  return [
    {
      method: 'GET',
      path: `${API_ROOT}docs/api.json`,
      openapiPath: `${API_ROOT}docs/api.json`,
      operationId: 'docs_api_json_read',
      tag: 'Docs',
      anonymous: true,
      responses: { 200: { description: 'OpenAPI 3.1.1 document' } },
      // Exactly `application/json`: the same rule as every JSON response (pulp-glue compares it verbatim).
      handler: send('application/json', () => openApiFor(p).json),
    },
    {
      method: 'GET',
      path: `${API_ROOT}docs/api.yaml`,
      openapiPath: `${API_ROOT}docs/api.yaml`,
      operationId: 'docs_api_yaml_read',
      tag: 'Docs',
      anonymous: true,
      responses: { 200: { description: 'OpenAPI 3.1.1 document (YAML)' } },
      handler: send('application/yaml', () => openApiFor(p).yaml()),
    },
  ];
}
