/**
 * Error codes of command acks and HTTP error bodies, and the HTTP status each maps to.
 * Shared with clients: no server-only imports here.
 */
export const ERROR_HTTP_STATUS = {
  UNAUTHORIZED: 401,
  VALIDATION_FAILED: 400,
  UNKNOWN_AGENT: 404,
  RUN_NOT_FOUND: 404,
  RUN_FINISHED: 409,
  THREAD_NOT_FOUND: 404,
  TOO_MANY_RUNS: 429,
  THREAD_BUSY: 409,
  INTERRUPT_NOT_FOUND: 404,
  INTERRUPT_RESOLVED: 409,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_CONFLICT: 422,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

/** An error code of an ack or an HTTP error body (DESIGN.md, "Socket.IO protocol"). */
export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

/** Every {@link ErrorCode}. */
export const ERROR_CODES = Object.keys(ERROR_HTTP_STATUS) as ErrorCode[];

/** The `error` of a failed ack, and the body of an HTTP error without `statusCode`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}
