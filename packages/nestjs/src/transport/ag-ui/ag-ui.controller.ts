import { EventEncoder } from '@ag-ui/encoder';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BearerAuthGuard } from '../../auth/bearer-auth.guard';
import { CurrentUser } from '../../auth/current-user.decorator';
import { AgentService } from '../../runs/agent.service';
import { PipelineError } from '../../errors/pipeline.error';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { ApiErrors, RUN_START_ERRORS } from '../http/api-errors.decorator';
import { RunEventFollower } from '../http/sse/run-event.follower';
import { parseLastEventId } from '../http/sse/run-stream.controller';
import { SseFollowStreamer, type SseView } from '../http/sse/sse-follow.streamer';
import { AgUiTranslator, endsAgUiRun } from './ag-ui.translator';
import { agUiRunKey } from './ag-ui-run.key';
import { agentInputOf, parseRunAgentInput, resumeAnswerOf, type ResumeAnswer } from './run-agent-input.parser';
import { PipelineHttpRoutes } from '../http/pipeline-http.decorator';
import { TRACEPARENT_HEADER_DOC } from '../http/traceparent.header';

const EVENT_STREAM = { 'text/event-stream': { schema: { type: 'string' } } };

/**
 * AG-UI over HTTP: `POST /ag-ui/agents/:agent` runs an agent for an AG-UI client (`HttpAgent`)
 * and answers its events as AG-UI Server-Sent Events; `GET /ag-ui/runs/:runId/stream` gives the
 * same stream again, resumed after `Last-Event-ID`. A thin view: the run is an ordinary run of
 * `AgentService`, followed by the shared follower and worded by {@link AgUiTranslator}.
 *
 * Run ids: AG-UI's `runId` is the client's name for its request, ours is the run's key in the
 * store. The stream's `RUN_STARTED` / `RUN_FINISHED` carry the request's `runId` (what the client
 * correlates with); our id comes back in the `X-Run-Id` header and in `RUN_STARTED.rawEvent.runId`,
 * and is the one the resume route, `GET /runs/:runId` and `POST /runs/:runId/cancel` take.
 */
@ApiTags('ag-ui')
@ApiBearerAuth()
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('ag-ui')
export class AgUiController {
  private readonly encoder = new EventEncoder();

  constructor(
    private readonly agents: AgentService,
    private readonly follower: RunEventFollower,
    private readonly streamer: SseFollowStreamer,
  ) {}

  @Post('agents/:agent')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run an agent for an AG-UI client',
    description:
      "Body: an AG-UI `RunAgentInput`. The agent runs on the input's `threadId`; its input is `forwardedProps.input`, else " +
      '`{ "text": <last user message> }` (earlier messages are not replayed: memory stays on the server). Answers AG-UI ' +
      'events as Server-Sent Events, each frame with `id: <seq of the source event>`; our run id is in `X-Run-Id`. ' +
      'Closing the stream does not cancel the run (`POST /runs/{runId}/cancel` does). The same `runId` again on the same ' +
      'thread (a retried request) starts nothing: it streams that run again from its first event; see docs/ag-ui.md.',
  })
  @ApiParam({ name: 'agent', description: 'An agent name from `GET /agents`.' })
  @ApiHeader(TRACEPARENT_HEADER_DOC)
  @ApiBody({
    description: 'AG-UI `RunAgentInput` (`threadId`, `runId`, `messages`, `tools`, `context`, `state`, `forwardedProps`).',
    schema: { type: 'object' },
  })
  @ApiResponse({
    status: 200,
    description: 'AG-UI events.',
    content: EVENT_STREAM,
    headers: { 'X-Run-Id': { description: 'Our id of the run (for the resume route and cancel).', schema: { type: 'string' } } },
  })
  @ApiErrors('UNAUTHORIZED', ...RUN_START_ERRORS, 'IDEMPOTENCY_CONFLICT', 'INTERRUPT_NOT_FOUND', 'INTERRUPT_RESOLVED', 'INTERNAL')
  async run(
    @CurrentUser() userId: string,
    @Param('agent') agent: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // Every refusal comes before the stream opens, as an ordinary JSON error answer.
    const input = parseRunAgentInput(body);
    const resume = resumeAnswerOf(input);
    if (resume) return this.resume(userId, input.threadId, input.runId, resume, req, res);
    // A repeated POST (the same runId on the thread) starts nothing: it streams that run again, from its start.
    const idempotencyKey = agUiRunKey(input.threadId, input.runId);
    const run = await this.agents.start(userId, {
      agent,
      input: agentInputOf(input),
      threadId: input.threadId,
      idempotencyKey,
      traceparent: req.headers.traceparent as string | undefined,
    });
    const follow = await this.follower.open(userId, run.runId, 0);
    this.streamer.stream(req, res, follow, userId, this.view(input.runId, 0, { 'X-Run-Id': run.runId }));
  }

  /**
   * A request whose `resume` answers the question the thread's run waits on: the answer goes to
   * that run (on whichever node runs it), and the stream is the rest of the same run, from its
   * `interrupt_resolved` (`RUN_STARTED` with this request's `runId`). The thread's newest run is
   * the one asked: `INTERRUPT_NOT_FOUND` when it has no such question, `INTERRUPT_RESOLVED` when
   * it was answered already or expired.
   */
  private async resume(
    userId: string,
    threadId: string,
    aguiRunId: string,
    { interruptId, answer }: ResumeAnswer,
    req: Request,
    res: Response,
  ): Promise<void> {
    const [run] = await this.agents.listRuns(userId, { threadId, limit: 1 });
    if (!run) throw new PipelineError('INTERRUPT_NOT_FOUND', `Thread '${threadId}' has no run waiting on interrupt '${interruptId}'.`);
    // Subscribed before the answer, so nothing the run does next can slip between the two.
    const follow = await this.follower.open(userId, run.runId, 0);
    try {
      await this.agents.resume(userId, run.runId, interruptId, answer);
    } catch (err) {
      follow.stop();
      throw err;
    }
    const translator = new AgUiTranslator(aguiRunId);
    let answered = false;
    this.streamer.stream(req, res, follow, userId, {
      name: 'ag-ui',
      headers: { 'X-Run-Id': run.runId },
      frames: (event: AgentEventEnvelope) => {
        const events = translator.translate(event);
        // Everything up to the answer was the earlier AG-UI run's: it only rebuilds the translator.
        if (!answered) {
          answered =
            event.type === 'interrupt_resolved' && (event as AgentEventEnvelope<'interrupt_resolved'>).data.interruptId === interruptId;
          if (!answered) return '';
        }
        return this.encode(event, events);
      },
      endsAfter: endsAgUiRun,
    });
  }

  @Get('runs/:runId/stream')
  @ApiOperation({
    summary: "A run's AG-UI stream again, resumed after Last-Event-ID",
    description:
      "The AG-UI events of one of the caller's runs; with `Last-Event-ID: <seq>` only those after that source event, so " +
      'a broken stream continues without a repeat or a gap (a message open at the break goes on without a second start). ' +
      'Without it, the whole stream from `RUN_STARTED`.',
  })
  @ApiParam({ name: 'runId', description: 'Our run id (`X-Run-Id` of the POST).' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The `id` of the last frame received.' })
  @ApiQuery({
    name: 'aguiRunId',
    required: false,
    description: "The AG-UI `runId` the RUN_* events carry (the original request's); defaults to our run id.",
  })
  @ApiResponse({ status: 200, description: 'AG-UI events.', content: EVENT_STREAM })
  @ApiErrors('UNAUTHORIZED', 'VALIDATION_FAILED', 'RUN_NOT_FOUND', 'INTERNAL')
  async stream(
    @CurrentUser() userId: string,
    @Param('runId') runId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('aguiRunId') aguiRunId: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const afterSeq = lastEventId !== undefined ? parseLastEventId(lastEventId) : 0;
    if (aguiRunId !== undefined && (typeof aguiRunId !== 'string' || aguiRunId.length === 0 || aguiRunId.length > 256)) {
      throw new PipelineError('VALIDATION_FAILED', 'aguiRunId must be a string of 1 to 256 characters.', {
        fields: [{ field: 'aguiRunId', errors: ['must be a string of 1 to 256 characters'] }],
      });
    }
    // From the first event: the ones up to the resume point rebuild the translator's state unsent.
    const follow = await this.follower.open(userId, runId, 0);
    this.streamer.stream(req, res, follow, userId, this.view((aguiRunId as string | undefined) ?? runId, afterSeq));
  }

  /** The AG-UI view of one stream: its own translator; frames of source events after `afterSeq`. */
  private view(aguiRunId: string, afterSeq: number, headers?: Record<string, string>): SseView {
    const translator = new AgUiTranslator(aguiRunId);
    return {
      name: 'ag-ui',
      headers,
      frames: (event: AgentEventEnvelope) => {
        const events = translator.translate(event);
        return event.seq <= afterSeq ? '' : this.encode(event, events);
      },
      endsAfter: endsAgUiRun,
    };
  }

  /** The SSE frames of one source event's AG-UI events, each with the source's seq as its id. */
  private encode(event: AgentEventEnvelope, events: ReturnType<AgUiTranslator['translate']>): string {
    let text = '';
    for (const e of events) text += `id: ${event.seq}\n${this.encoder.encodeSSE(e)}`;
    return text;
  }
}
