/** An error with an HTTP status and a Pulp/DRF-shaped JSON body. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(typeof body.detail === 'string' ? body.detail : JSON.stringify(body));
  }
}

export const badRequest = (detail: string) => new ApiError(400, { detail });
/** 400 with DRF's field → messages map. */
export const fieldErrors = (fields: Record<string, string[]>) => new ApiError(400, fields);
export const fieldError = (field: string, message: string) => fieldErrors({ [field]: [message] });
export const notFound = (detail = 'Not found.') => new ApiError(404, { detail });
export const conflict = (detail: string) => new ApiError(409, { detail });
export const preconditionFailed = () =>
  new ApiError(412, { detail: 'Precondition failed: the resource changed since the given ETag (If-Match).' });
export const unauthorized = () => new ApiError(401, { detail: 'Authentication credentials were not provided.' });
export const invalidCredentials = () => new ApiError(401, { detail: 'Invalid username/password.' });
export const forbidden = () => new ApiError(403, { detail: 'You do not have permission to perform this action.' });
