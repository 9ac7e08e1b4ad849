import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { MULTITASK_POLICIES, RUN_STATUSES, type MultitaskPolicy, type RunStatus } from '@agent-pipeline/protocol';
import { toBoolean } from './query-transforms';

/** Body of `POST /runs`. */
export class StartRunDto {
  @ApiProperty({ description: 'Name of a registered agent (see `GET /agents`).', example: 'echo', minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  agent: string;

  @ApiPropertyOptional({
    description: 'Any JSON value; the agent validates it (echo: `{ text }`). At most MAX_INPUT_BYTES serialized.',
    example: { text: 'hello' },
  })
  // Taken as sent: the pipeline sanitizes and validates it (class-transformer would rebuild it).
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.input, { toClassOnly: true })
  @IsOptional()
  input?: unknown;

  @ApiPropertyOptional({
    description: 'Continue this thread; a new thread is started when absent.',
    example: 'thread-1',
    minLength: 1,
    maxLength: 128,
    pattern: '^[\\w.:-]+$',
  })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(/^[\w.:-]+$/, { message: 'threadId may only contain letters, digits, "_", "-", "." and ":"' })
  threadId?: string;

  @ApiPropertyOptional({
    description:
      'What to do when the thread has a run in flight (queued or running): `reject` answers 409 `THREAD_BUSY`; ' +
      '`enqueue` queues the run behind the runs in flight (at most MAX_QUEUED_RUNS_PER_THREAD); `interrupt` cancels them ' +
      "(reason `superseded`) and starts once they have ended. Default: the server's THREAD_MULTITASK (`enqueue`).",
    enum: MULTITASK_POLICIES,
  })
  @IsOptional()
  @IsIn(MULTITASK_POLICIES, { message: `multitask must be one of ${MULTITASK_POLICIES.join(', ')}` })
  multitask?: MultitaskPolicy;
}

/** Query of `POST /runs`. */
export class StartRunQueryDto {
  @ApiPropertyOptional({
    description: 'Answer once the run has ended, with the finished run (200), instead of at once (202).',
    default: false,
  })
  @Transform(toBoolean)
  @IsOptional()
  @IsBoolean({ message: 'wait must be true or false' })
  wait?: boolean;
}

/** Answer of `POST /runs` without `wait`. */
export class StartedRunDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty()
  threadId: string;

  @ApiProperty({
    enum: RUN_STATUSES,
    description:
      '`running`, or `queued` when the run waits for the runs before it on its thread (it starts on its own once they end). ' +
      "A replay (`Idempotent-Replayed: true`) tells the run's status now, which may be any.",
  })
  status: RunStatus;
}
