import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_HTTP_STATUS, type ErrorCode } from '@agent-pipeline/protocol';
import { ErrorBodyDto } from './dto/error-body.dto';

/** What each error code means on the routes that answer with it. */
const MEANING: Record<ErrorCode, string> = {
  UNAUTHORIZED: 'no valid `Authorization: Bearer <token>`',
  VALIDATION_FAILED: 'a parameter or the body is invalid (or not JSON)',
  UNKNOWN_AGENT: 'no agent has that name',
  RUN_NOT_FOUND: 'no run with that id belongs to the caller',
  RUN_FINISHED: 'the run has already ended',
  THREAD_NOT_FOUND: "the caller has no run on that thread (another user's thread included)",
  TOO_MANY_RUNS: 'the caller has MAX_CONCURRENT_RUNS_PER_USER runs going',
  THREAD_BUSY:
    'the thread has a run in flight and the policy is `reject`, or its queue holds MAX_QUEUED_RUNS_PER_THREAD runs; on delete: a run of the thread is in flight',
  INTERRUPT_NOT_FOUND: 'the run has no such open question',
  INTERRUPT_RESOLVED: 'the question was already answered, or has expired',
  PAYLOAD_TOO_LARGE: 'the body or the input is over MAX_INPUT_BYTES',
  IDEMPOTENCY_CONFLICT: 'the `Idempotency-Key` already names a run started with another request (the message names the field that differs)',
  RATE_LIMITED: 'over RATE_LIMIT_RUNS_PER_MINUTE; see the Retry-After header',
  QUOTA_EXCEEDED:
    "the agent calls a model and the caller's tokens of today reached MAX_TOKENS_PER_USER_PER_DAY; Retry-After: the seconds until the UTC day ends",
  UNAVAILABLE: 'the server is shutting down, or its store is down with a full backlog; see the Retry-After header',
  INTERNAL: 'an unexpected error; the server logged it',
};

/**
 * The codes any start of a run can be refused with (`AgentService.start`), whichever route starts
 * it: one list, so a new refusal is documented on every start route at once. Routes that take an
 * idempotency key add `IDEMPOTENCY_CONFLICT`.
 */
export const RUN_START_ERRORS: readonly ErrorCode[] = [
  'VALIDATION_FAILED',
  'UNKNOWN_AGENT',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_RUNS',
  'THREAD_BUSY',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'UNAVAILABLE',
];

/**
 * Documents the error answers of a route: one OpenAPI response per HTTP status, with the
 * {@link ErrorBodyDto} body and the codes that lead to it.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, list]) =>
      ApiResponse({
        status,
        type: ErrorBodyDto,
        description: list.map((code) => `\`${code}\`: ${MEANING[code]}`).join('; '),
        ...(list.includes('RATE_LIMITED') || list.includes('UNAVAILABLE') || list.includes('QUOTA_EXCEEDED')
          ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } } }
          : {}),
      }),
    ),
  );
}
