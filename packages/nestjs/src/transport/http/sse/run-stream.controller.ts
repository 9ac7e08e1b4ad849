import { Controller, Get, Headers, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BearerAuthGuard } from '../../../auth/bearer-auth.guard';
import { CurrentUser } from '../../../auth/current-user.decorator';
import { PipelineError } from '../../../errors/pipeline.error';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { ApiErrors } from '../api-errors.decorator';
import { RunEventsQueryDto } from '../dto/run-events.dto';
import { RunEventFollower } from './run-event.follower';
import { SseFollowStreamer } from './sse-follow.streamer';
import { PipelineHttpRoutes } from '../pipeline-http.decorator';

/**
 * `GET /runs/:runId/stream`: a run's events as Server-Sent Events (`id: <seq>`, `event: <type>`,
 * `data: <envelope>`). It resumes after `Last-Event-ID` (or `?afterSeq=`), replays what is
 * stored, follows live, and ends after the terminal event.
 */
@ApiTags('runs')
@ApiBearerAuth()
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('runs')
export class RunStreamController {
  constructor(
    private readonly follower: RunEventFollower,
    private readonly streamer: SseFollowStreamer,
  ) {}

  @Get(':runId/stream')
  @ApiOperation({
    summary: "Stream a run's events (Server-Sent Events)",
    description:
      'Each event is sent as `id: <seq>`, `event: <type>`, `data: <envelope JSON>`. Stored events after `Last-Event-ID` ' +
      '(or `afterSeq`) come first, then live ones; the stream ends after the terminal event. Idle streams get ' +
      '`: keep-alive` comment lines.',
  })
  @ApiParam({ name: 'runId', format: 'uuid' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this seq (wins over `afterSeq`).' })
  @ApiResponse({ status: 200, description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiErrors('UNAUTHORIZED', 'VALIDATION_FAILED', 'RUN_NOT_FOUND', 'INTERNAL')
  async stream(
    @CurrentUser() userId: string,
    @Param('runId') runId: string,
    @Query() query: RunEventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const afterSeq = lastEventId !== undefined ? parseLastEventId(lastEventId) : (query.afterSeq ?? 0);
    // Errors up to here (404, 400) are ordinary JSON answers: nothing has been written yet.
    const follow = await this.follower.open(userId, runId, afterSeq);

    this.streamer.stream(req, res, follow, userId, { name: 'envelopes', frames: formatEvent });
  }
}

/** One event in the SSE wire format; the envelope is one JSON line, so one `data:` field. */
export function formatEvent(event: AgentEventEnvelope): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The seq a `Last-Event-ID` header names; `VALIDATION_FAILED` when it is not one. */
export function parseLastEventId(value: string): number {
  const trimmed = value.trim();
  const seq = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new PipelineError('VALIDATION_FAILED', `Last-Event-ID must be an event seq (an integer >= 0); got '${value.slice(0, 32)}'.`, {
      fields: [{ field: 'Last-Event-ID', errors: ['must be an integer >= 0'] }],
    });
  }
  return seq;
}
