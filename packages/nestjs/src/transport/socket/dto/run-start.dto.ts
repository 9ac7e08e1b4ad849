import { IsDefined, IsIn, IsOptional, IsString, Length, Matches, MaxLength, ValidateBy } from 'class-validator';
import { IDEMPOTENCY_KEY_MAX_LENGTH, isIdempotencyKey, MULTITASK_POLICIES, type MultitaskPolicy } from '@agent-pipeline/protocol';

/** The limits of a start's fields, shared by the DTO's decorators and the hand check of `run:start`. */
export const RUN_START_LIMITS = {
  agentMaxLength: 64,
  threadIdMaxLength: 128,
  threadIdPattern: /^[\w.:-]+$/,
  traceparentMaxLength: 256,
} as const;

/** Payload of `run:start` (and body of `POST /runs`). */
export class RunStartDto {
  @IsString()
  @Length(1, RUN_START_LIMITS.agentMaxLength)
  agent: string;

  /** Any JSON; the agent's own input class validates it further. */
  @IsOptional()
  @IsDefined()
  input?: unknown;

  @IsOptional()
  @IsString()
  @Length(1, RUN_START_LIMITS.threadIdMaxLength)
  @Matches(RUN_START_LIMITS.threadIdPattern, { message: 'threadId may only contain letters, digits, "_", "-", "." and ":"' })
  threadId?: string;

  /** What to do when the thread has a run in flight; the server's THREAD_MULTITASK when absent. */
  @IsOptional()
  @IsIn(MULTITASK_POLICIES, { message: `multitask must be one of ${MULTITASK_POLICIES.join(', ')}` })
  multitask?: MultitaskPolicy;

  /** Names this start for the user: a repeat with the same key is answered with its run. */
  @IsOptional()
  @ValidateBy({
    name: 'isIdempotencyKey',
    validator: {
      validate: isIdempotencyKey,
      defaultMessage: () => `idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`,
    },
  })
  idempotencyKey?: string;
  /** The caller's W3C trace context; a malformed one is ignored (the run starts a new trace), as the W3C spec asks. */
  @IsOptional()
  @IsString()
  @MaxLength(RUN_START_LIMITS.traceparentMaxLength)
  traceparent?: string;
}
