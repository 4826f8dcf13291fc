/** A framework-neutral extra HTTP route contributed by a plugin (e.g. a registry API). */
export interface ApiRouteDefinition {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Express-style path, absolute (`/v2/:name/manifests/:ref`). */
  path: string;
  operationId?: string;
  anonymous?: boolean;
  handler(req: PluginHttpRequest): Promise<PluginHttpResponse>;
}

export interface PluginHttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  body: NodeJS.ReadableStream;
}

export interface PluginHttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | NodeJS.ReadableStream | object;
}
