/**
 * Errors the sandbox answers with: an HTTP status and a JSON body
 * `{"error": {"code", "message", "hint"?, "details"?}}` (docs/portal-protocol.md lists every code).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint ? { hint: this.hint } : {}),
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export const badRequest = (code: string, message: string, hint?: string, details?: Record<string, unknown>) => new ApiError(400, code, message, hint, details);
export const unauthorized = (code: string, message: string, hint?: string) => new ApiError(401, code, message, hint);
export const forbidden = (code: string, message: string, hint?: string) => new ApiError(403, code, message, hint);
export const notFound = (code: string, message: string, hint?: string) => new ApiError(404, code, message, hint);
export const unprocessable = (code: string, message: string, hint?: string, details?: Record<string, unknown>) => new ApiError(422, code, message, hint, details);
