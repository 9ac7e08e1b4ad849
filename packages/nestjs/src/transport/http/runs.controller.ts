import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { BearerAuthGuard } from '../../auth/bearer-auth.guard';
import { CurrentUser } from '../../auth/current-user.decorator';
import { AgentService } from '../../runs/agent.service';
import { checkIdempotencyKey } from '../../runs/idempotency/idempotency-key.validation';
import { ApiErrors, RUN_START_ERRORS } from './api-errors.decorator';
import { CancelledRunDto } from './dto/cancel-run.dto';
import { ListRunsQueryDto, RunListDto } from './dto/list-runs.dto';
import { RunEventsDto, RunEventsQueryDto } from './dto/run-events.dto';
import { RunDto, toRunDto } from './dto/run.dto';
import { ResumedRunDto, ResumeRunDto } from './dto/resume-run.dto';
import { StartedRunDto, StartRunDto, StartRunQueryDto } from './dto/start-run.dto';
import { PipelineHttpRoutes } from './pipeline-http.decorator';
import { TRACEPARENT_HEADER_DOC } from './traceparent.header';

/**
 * Runs over REST, for callers that do not speak Socket.IO. A singleton that asks
 * `AgentService` for everything, so an HTTP run is exactly a socket run: same limits, same
 * events, published to the user's room as well.
 */
@ApiTags('runs')
@ApiBearerAuth()
@ApiErrors('UNAUTHORIZED', 'INTERNAL')
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('runs')
export class RunsController {
  constructor(private readonly agents: AgentService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Start a run',
    description:
      'Answers 202 as soon as the run is started (`status: running`) or queued behind the runs in flight on its ' +
      "thread (`status: queued`, see `multitask`); its events go to the caller's sockets, `GET /runs/{runId}/stream` and " +
      '`GET /runs/{runId}/events`. With `?wait=true` it answers 200 with the finished run instead. A client that goes ' +
      'away does not cancel the run: use `POST /runs/{runId}/cancel`. With an `Idempotency-Key`, the same request sent again ' +
      "(after a timeout, say) starts nothing: it is answered as the first one was, with the run's status now and " +
      '`Idempotent-Replayed: true`; the same key with another request is 422 `IDEMPOTENCY_CONFLICT`.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Names this start for the caller (1–255 printable ASCII characters, kept IDEMPOTENCY_TTL_MS): a repeat with the same ' +
      'agent, input, threadId and multitask answers with the run the first one started.',
  })
  @ApiAcceptedResponse({
    type: StartedRunDto,
    description: 'The run is started (or, replayed, the run the key names).',
    headers: { 'Idempotent-Replayed': { description: '`true` when the key named an existing run.', schema: { type: 'string' } } },
  })
  @ApiOkResponse({ type: RunDto, description: 'With `wait=true`: the run once it has ended.' })
  @ApiHeader(TRACEPARENT_HEADER_DOC)
  @ApiErrors(...RUN_START_ERRORS, 'IDEMPOTENCY_CONFLICT')
  async start(
    @CurrentUser() userId: string,
    @Body() body: StartRunDto,
    @Query() query: StartRunQueryDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
    @Headers('traceparent') traceparent?: string,
  ): Promise<StartedRunDto | RunDto> {
    checkIdempotencyKey(idempotencyKey, 'Idempotency-Key');
    const run = await this.agents.start(userId, {
      agent: body.agent,
      input: body.input,
      threadId: body.threadId,
      multitask: body.multitask,
      idempotencyKey,
      traceparent,
    });
    if (run.replayed) res.setHeader('Idempotent-Replayed', 'true');
    if (!query.wait) return { runId: run.runId, threadId: run.threadId, status: run.status };
    // Deliberately not tied to the request: the run belongs to the server once started.
    await run.done;
    res.status(200);
    return toRunDto(await this.agents.getRun(userId, run.runId));
  }

  @Get()
  @ApiOperation({
    summary: "The caller's runs, newest first, a page at a time",
    description:
      'Filters by `status` and `threadId`; `next` is the cursor of the following page (pass it as `before`), `null` on the last page.',
  })
  @ApiOkResponse({ type: RunListDto })
  @ApiErrors('VALIDATION_FAILED')
  async list(@CurrentUser() userId: string, @Query() query: ListRunsQueryDto): Promise<RunListDto> {
    const page = await this.agents.pageRuns(userId, {
      limit: query.limit,
      status: query.status,
      threadId: query.threadId,
      before: query.before,
    });
    return { runs: page.items.map(toRunDto), next: page.next };
  }

  @Get(':runId')
  @ApiOperation({ summary: 'One run of the caller' })
  @ApiParam({ name: 'runId', format: 'uuid' })
  @ApiOkResponse({ type: RunDto })
  @ApiErrors('RUN_NOT_FOUND')
  async get(@CurrentUser() userId: string, @Param('runId') runId: string): Promise<RunDto> {
    return toRunDto(await this.agents.describeRun(userId, runId));
  }

  @Get(':runId/events')
  @ApiOperation({ summary: "A run's stored events after `afterSeq`, in order" })
  @ApiParam({ name: 'runId', format: 'uuid' })
  @ApiOkResponse({ type: RunEventsDto })
  @ApiErrors('VALIDATION_FAILED', 'RUN_NOT_FOUND')
  async events(@CurrentUser() userId: string, @Param('runId') runId: string, @Query() query: RunEventsQueryDto): Promise<RunEventsDto> {
    const { events } = await this.agents.replay(userId, runId, query.afterSeq ?? 0);
    return { events };
  }

  @Post(':runId/cancel')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Cancel a queued or running run',
    description:
      'Answers once `agent_cancelled` is stored and published. A queued run ends without starting: `agent_cancelled` is its only event, at seq 1.',
  })
  @ApiParam({ name: 'runId', format: 'uuid' })
  @ApiAcceptedResponse({ type: CancelledRunDto })
  @ApiErrors('RUN_NOT_FOUND', 'RUN_FINISHED')
  cancel(@CurrentUser() userId: string, @Param('runId') runId: string): Promise<CancelledRunDto> {
    return this.agents.cancel(userId, runId);
  }

  @Post(':runId/interrupts/:interruptId')
  @HttpCode(200)
  @ApiOperation({
    summary: "Answer a waiting run's question (interrupt)",
    description:
      'Answers the open `interrupt_requested` of the run, whichever node executes it: `approved` for an `approval`, ' +
      '`response` for an `input` (checked against its `responseSchema`; a bad one answers 400 and the question stays open). ' +
      'Answers once `interrupt_resolved` is stored and published; the run goes on. When two answers race, one wins and ' +
      'the other gets 409 `INTERRUPT_RESOLVED`, as does an answer to an expired question.',
  })
  @ApiParam({ name: 'runId', format: 'uuid' })
  @ApiParam({ name: 'interruptId', format: 'uuid' })
  @ApiOkResponse({ type: ResumedRunDto })
  @ApiErrors('VALIDATION_FAILED', 'RUN_NOT_FOUND', 'INTERRUPT_NOT_FOUND', 'INTERRUPT_RESOLVED', 'PAYLOAD_TOO_LARGE')
  resume(
    @CurrentUser() userId: string,
    @Param('runId') runId: string,
    @Param('interruptId') interruptId: string,
    @Body() body: ResumeRunDto,
  ): Promise<ResumedRunDto> {
    return this.agents.resume(userId, runId, interruptId, { approved: body.approved, response: body.response, reason: body.reason });
  }
}
