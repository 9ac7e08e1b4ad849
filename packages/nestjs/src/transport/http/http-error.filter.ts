import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { PipelineError } from '../../errors/pipeline.error';
import type { ErrorCode } from '@agent-pipeline/protocol';

/** HTTP statuses without a contract code of their own, mapped to the closest one. */
const CODE_BY_STATUS: Record<number, ErrorCode | 'NOT_FOUND'> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
};

/**
 * Every HTTP error, whatever threw it, as `{ statusCode, code, message, details? }`: pipeline
 * errors keep their code; Nest and body-parser errors (bad JSON, body too large) get the
 * contract's; anything else is a logged 500 `INTERNAL` that reveals nothing. The pipeline's own
 * routes use it already; an app may make it global (`APP_FILTER`) for the same bodies on its own
 * routes, unknown routes included.
 */
@Catch()
export class PipelineHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(PipelineHttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    sendHttpError(host.switchToHttp().getResponse<Response>(), exception, this.logger);
  }
}

/** Answers `exception` on `response` with the contract's error body (see {@link PipelineHttpErrorFilter}). */
export function sendHttpError(response: Response, exception: unknown, logger: Logger): void {
  const { status, body, retryAfter } = describeHttpError(exception, logger);
  if (response.headersSent) {
    response.end();
    return;
  }
  if (retryAfter !== undefined) response.setHeader('Retry-After', String(retryAfter));
  response.status(status).json({ statusCode: status, ...body });
}

function describeHttpError(
  exception: unknown,
  logger: Logger,
): {
  status: number;
  body: { code: string; message: string; details?: unknown };
  retryAfter?: number;
} {
  if (exception instanceof PipelineError) {
    return { status: exception.httpStatus, body: exception.toBody(), retryAfter: exception.retryAfterSeconds };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const res = exception.getResponse();
    const raw = typeof res === 'object' && res !== null ? (res as { message?: unknown }).message : res;
    const messages = Array.isArray(raw) ? raw.map(String) : undefined;
    const message = messages ? `Invalid request: ${messages.join('; ')}.` : String(raw ?? exception.message);
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    return { status, body: messages ? { code, message, details: { errors: messages } } : { code, message } };
  }
  const bodyParserError = exception as { type?: string; status?: number; message?: string };
  if (bodyParserError?.type === 'entity.too.large') {
    return { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' } };
  }
  if (bodyParserError?.type === 'entity.parse.failed') {
    return { status: 400, body: { code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.' } };
  }
  if (typeof bodyParserError?.status === 'number' && bodyParserError.status >= 400 && bodyParserError.status < 500) {
    return { status: bodyParserError.status, body: { code: 'VALIDATION_FAILED', message: bodyParserError.message ?? 'Bad request.' } };
  }
  logger.error(`Unhandled HTTP error: ${(exception as Error)?.stack ?? String(exception)}`);
  return { status: 500, body: { code: 'INTERNAL', message: 'Internal error. The server logged the details.' } };
}
