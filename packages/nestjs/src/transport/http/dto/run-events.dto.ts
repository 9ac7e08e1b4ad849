import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { AGENT_EVENT_TYPES, type AgentEventType } from '@agent-pipeline/protocol';
import { toInt } from './query-transforms';

const AFTER_SEQ_MESSAGE = 'afterSeq must be an integer >= 0';

/** Query of `GET /runs/:runId/events` and `GET /runs/:runId/stream`. */
export class RunEventsQueryDto {
  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'Only events with a greater seq.' })
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: AFTER_SEQ_MESSAGE })
  @Min(0, { message: AFTER_SEQ_MESSAGE })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'afterSeq is too large' })
  afterSeq?: number;
}

/** One run event: the envelope every transport carries. */
export class RunEventDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty()
  threadId: string;

  @ApiProperty({ description: '1 on agent_started, then +1 per event.', example: 1 })
  seq: number;

  @ApiProperty({ enum: AGENT_EVENT_TYPES })
  type: AgentEventType;

  @ApiProperty({ example: 'echo' })
  agent: string;

  @ApiProperty({ format: 'date-time' })
  ts: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The data of the event type (see DESIGN.md).' })
  data: unknown;
}

/** Answer of `GET /runs/:runId/events`. */
export class RunEventsDto {
  @ApiProperty({ type: [RunEventDto] })
  events: RunEventDto[];
}
