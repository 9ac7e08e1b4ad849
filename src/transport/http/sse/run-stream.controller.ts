import { BeforeApplicationShutdown, Controller, Get, Headers, Logger, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BearerAuthGuard } from '../../../auth/bearer-auth.guard';
import { CurrentUser } from '../../../auth/current-user.decorator';
import { AppConfig } from '../../../config/app.config';
import { PipelineError, RunRegistry } from '../../../pipeline';
import type { AgentEventEnvelope } from '../../../pipeline';
import { ApiErrors } from '../api-errors.decorator';
import { RunEventsQueryDto } from '../dto/run-events.dto';
import { RunEventFollower } from './run-event.follower';

/** A client that reads slower than the run writes is cut off past this; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How often a stream of a run executing on another node reads the shared store for new events. */
const REMOTE_POLL_MS = 250;

/**
 * `GET /runs/:runId/stream`: a run's events as Server-Sent Events (`id: <seq>`, `event: <type>`,
 * `data: <envelope>`). It resumes after `Last-Event-ID` (or `?afterSeq=`), replays what is
 * stored, follows live, and ends after the terminal event.
 */
@ApiTags('runs')
@ApiBearerAuth()
@UseGuards(BearerAuthGuard)
@Controller('runs')
export class RunStreamController implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunStreamController.name);
  /** Closers of the streams open right now. */
  private readonly open = new Set<() => void>();

  constructor(
    private readonly follower: RunEventFollower,
    private readonly config: AppConfig,
    private readonly registry: RunRegistry,
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

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Tells nginx-style proxies not to hold events back in a buffer.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);

    let sentSinceTick = false;
    const keepAlive = setInterval(() => {
      if (follow.isFinished) return;
      res.write(': keep-alive\n\n');
      // Quiet for a whole interval: look in the store for events this node was not told about
      // (the run may execute on another node).
      if (!sentSinceTick) {
        follow.catchUp().catch((err: unknown) =>
          this.logger.warn({ msg: `SSE catch-up failed: ${(err as Error)?.message}`, runId, userId }),
        );
      }
      sentSinceTick = false;
    }, this.config.sseKeepAliveMs);

    // A run executing on another node sends this node nothing: follow it through the shared store.
    const remotePoll = this.registry.get(runId)
      ? undefined
      : setInterval(() => {
          if (follow.isFinished) return;
          follow.catchUp().catch((err: unknown) =>
            this.logger.warn({ msg: `SSE store poll failed: ${(err as Error)?.message}`, runId, userId }),
          );
        }, REMOTE_POLL_MS);

    const cleanUp = () => {
      clearInterval(keepAlive);
      if (remotePoll) clearInterval(remotePoll);
      follow.stop();
      this.open.delete(close);
    };
    const close = () => {
      cleanUp();
      res.end();
    };
    this.open.add(close);
    res.on('close', cleanUp);

    follow.start({
      event: (event) => {
        sentSinceTick = true;
        res.write(formatEvent(event));
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          this.logger.warn({ msg: 'SSE client too slow: stream closed; it may resume with Last-Event-ID', runId, userId });
          close();
        }
      },
      end: close,
    });
  }

  /**
   * Ends the streams still open, so the HTTP server can close (it waits for open responses).
   * Their clients reconnect with `Last-Event-ID`, to this server once it is back or to another node.
   */
  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}

/** One event in the SSE wire format; the envelope is one JSON line, so one `data:` field. */
export function formatEvent(event: AgentEventEnvelope): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

function parseLastEventId(value: string): number {
  const trimmed = value.trim();
  const seq = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new PipelineError('VALIDATION_FAILED', `Last-Event-ID must be an event seq (an integer >= 0); got '${value.slice(0, 32)}'.`, {
      fields: [{ field: 'Last-Event-ID', errors: ['must be an integer >= 0'] }],
    });
  }
  return seq;
}
