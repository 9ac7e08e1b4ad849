import { HttpException } from '@nestjs/common';
import { ERROR_HTTP_STATUS, ErrorBody, ErrorCode } from '@agent-pipeline/protocol';

/**
 * The one error type the pipeline throws for anything a caller did or may retry.
 * Transports turn it into an ack `{ ok: false, error }` or an HTTP error body. It is an
 * `HttpException` with the contract's status and body, so that it answers right from an app's own
 * routes too (the pipeline's `BearerAuthGuard` on them, `AgentService` called from them) even
 * where `PipelineHttpErrorFilter` is not in place (that filter adds `Retry-After`).
 */
export class PipelineError extends HttpException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds after which a retry may succeed (sent as `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    const status = ERROR_HTTP_STATUS[code];
    super({ statusCode: status, ...errorBody(code, message, details) }, status);
    this.name = 'PipelineError';
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }

  static runNotFound(runId: string): PipelineError {
    return new PipelineError('RUN_NOT_FOUND', `Run '${runId}' was not found.`);
  }

  /** The same answer for a thread nobody has and for another user's thread: never reveal that it exists. */
  static threadNotFound(threadId: string): PipelineError {
    return new PipelineError('THREAD_NOT_FOUND', `Thread '${threadId}' was not found: you have no run on it.`);
  }
}

function errorBody(code: ErrorCode, message: string, details: unknown): ErrorBody {
  return details === undefined ? { code, message } : { code, message, details };
}

/** Any thrown value as a PipelineError; unexpected ones become `INTERNAL` without leaking internals. */
export function toPipelineError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  return new PipelineError('INTERNAL', 'Internal error. The server logged the details.');
}
