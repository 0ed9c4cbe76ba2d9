/**
 * Which failures are worth another try, and how long to wait: exponential backoff with jitter,
 * or the portal's `Retry-After` when it gives one.
 */

/** Network error codes that can succeed on retry (the connection, not the request, failed). */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'REQUEST_TIMEOUT',
]);

/** TLS verification failures: never retried, never bypassed. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * Failures that happen before a request can reach the portal (no connection was made): the portal
 * cannot have acted on it. Every other transient failure — a timeout, a connection reset or closed
 * once it was open, a gateway's 502/504 — leaves the outcome unknown: the portal may have received
 * the request and acted on it.
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']);

/** Statuses with which the portal itself says it did not handle the request (try again later). */
const NOT_HANDLED_STATUS = new Set([429, 503]);

/** True when a failed try may nevertheless have been received and acted on by the portal. */
export function outcomeUnknown(failure: { code: string; status?: number }): boolean {
  if (failure.status !== undefined) return !NOT_HANDLED_STATUS.has(failure.status);
  return !NOT_SENT_CODES.has(failure.code);
}

/** The error code of a network failure (looking through undici's `cause` chain). */
export function networkErrorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || TLS_CODES.has(e.code) || e.code.startsWith('E') || e.code.startsWith('UND_'))) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

export function isTransientNetworkError(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export function isTlsError(code: string | undefined): boolean {
  return code !== undefined && TLS_CODES.has(code);
}

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date), if it has one. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

export interface BackoffPolicy {
  /** First wait (default 500 ms); doubles each try. */
  baseMs: number;
  /** Longest wait between tries (default 30 s). */
  maxMs: number;
  /** Longest `Retry-After` honoured (default 5 minutes); a longer one ends the retries. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 5 * 60_000 };

/** Wait before try `attempt + 1` (attempt is 1-based): exponential, with ±25 % jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.75 + 0.5 * random()));
}
