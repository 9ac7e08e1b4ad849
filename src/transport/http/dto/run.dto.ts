import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RUN_STATUSES } from '../../../pipeline';
import type { RunRecord, RunStatus } from '../../../pipeline';

/** Why a failed run failed. */
export class RunErrorDto {
  @ApiProperty({ enum: ['AGENT_FAILED', 'TIMEOUT', 'INTERRUPTED'] })
  code: string;

  @ApiProperty()
  message: string;
}

/** A run as served over HTTP (the store's record without its internal fields). */
export class RunDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty()
  threadId: string;

  @ApiProperty({ example: 'echo' })
  agent: string;

  @ApiProperty({ enum: RUN_STATUSES })
  status: RunStatus;

  @ApiProperty({ description: 'The input as the agent received it.', nullable: true })
  input: unknown;

  @ApiPropertyOptional({ description: 'The result of a completed run.' })
  result?: unknown;

  @ApiPropertyOptional({ type: RunErrorDto, description: 'Set when the run failed.' })
  error?: RunErrorDto;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiPropertyOptional({ format: 'date-time' })
  finishedAt?: string;

  @ApiProperty({ description: 'Seq of the last stored event (0 when none is stored yet).', example: 4 })
  lastSeq: number;
}

/** The public view of a stored run: the owner and the executing node stay on the server. */
export function toRunDto(record: RunRecord): RunDto {
  const run: RunDto = {
    runId: record.runId,
    threadId: record.threadId,
    agent: record.agent,
    status: record.status,
    input: record.input,
    createdAt: record.createdAt,
    lastSeq: record.lastSeq,
  };
  if (record.result !== undefined) run.result = record.result;
  if (record.error !== undefined) run.error = record.error;
  if (record.finishedAt !== undefined) run.finishedAt = record.finishedAt;
  return run;
}
