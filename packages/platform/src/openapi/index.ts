export { buildOpenApi, isListEndpoint, type OpenApiBuild, type OpenApiBuildOptions, type OpenApiDocument } from './openapi-builder';
export { lintOpenApi, type LintOptions } from './openapi-lint';
export { buildPlatformOpenApi, openApiFor, type ServedOpenApi } from './openapi-document';
export { createOfflinePlatform } from './offline-platform';
export { DtoSchemaRegistry } from './dto-schema';
