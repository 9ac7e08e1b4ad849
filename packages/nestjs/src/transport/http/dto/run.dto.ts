import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RUN_STATUSES, type InterruptKind, type InterruptRequestedData, type RunStatus } from '@agent-pipeline/protocol';
import type { DescribedRun } from '../../../runs/agent.service';

/** Why a failed run failed. */
export class RunErrorDto {
  @ApiProperty({ enum: ['AGENT_FAILED', 'TIMEOUT', 'INTERRUPTED'] })
  code: string;

  @ApiProperty()
  message: string;
}

/** The open question of a waiting run: the data of its `interrupt_requested` event. */
export class RunInterruptDto implements InterruptRequestedData {
  @ApiProperty({ format: 'uuid', description: 'Answer it with `POST /runs/{runId}/interrupts/{interruptId}` or `run:resume`.' })
  interruptId: string;

  @ApiProperty({ enum: ['approval', 'input'], description: '`approval`: answer with `approved`; `input`: answer with `response`.' })
  kind: InterruptKind;

  @ApiProperty({ example: 'Approve: deploy?' })
  message: string;

  @ApiPropertyOptional({ description: 'The tool call the approval is about.' })
  toolCallId?: string;

  @ApiPropertyOptional({ example: 'perform' })
  tool?: string;

  @ApiPropertyOptional({ description: 'The arguments of that tool call.' })
  args?: unknown;

  @ApiPropertyOptional({ description: 'JSON Schema a `response` must satisfy.' })
  responseSchema?: unknown;

  @ApiProperty({ format: 'date-time', description: 'After this the question resolves as `expired`.' })
  expiresAt: string;
}

/** Tokens of a run's model calls. */
export class RunUsageDto {
  @ApiProperty({ example: 120 })
  inputTokens: number;

  @ApiProperty({ example: 30 })
  outputTokens: number;
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

  @ApiProperty({ description: 'Seq of the last stored event (0 when none is stored yet; a queued run has none).', example: 4 })
  lastSeq: number;

  @ApiPropertyOptional({
    type: RunUsageDto,
    description: "Tokens of the run's model calls so far (summed over every call); absent for a run that called no model.",
  })
  usage?: RunUsageDto;

  @ApiPropertyOptional({ type: RunInterruptDto, description: 'Only while `waiting`: the open question (`interrupt_requested` data).' })
  interrupt?: RunInterruptDto;

  @ApiPropertyOptional({
    description: 'Only while `queued`: 1 for the queued run that starts next on its thread, 2 for the one after it, …',
    example: 1,
  })
  queuePosition?: number;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Only while `queued`: the run just ahead of this one on its thread (the run in flight, or the queued run before it).',
  })
  queuedBehind?: string;
}

/** The public view of a stored run: the owner and the executing node stay on the server. */
export function toRunDto(record: DescribedRun): RunDto {
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
  if (record.usage !== undefined) run.usage = record.usage;
  if (record.interrupt !== undefined) run.interrupt = record.interrupt;
  if (record.queuePosition !== undefined) run.queuePosition = record.queuePosition;
  if (record.queuedBehind !== undefined) run.queuedBehind = record.queuedBehind;
  return run;
}
