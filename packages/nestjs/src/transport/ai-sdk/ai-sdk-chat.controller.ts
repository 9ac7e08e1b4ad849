import { Body, Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { UI_MESSAGE_STREAM_HEADERS, type UIMessage } from 'ai';
import type { Request, Response } from 'express';
import { BearerAuthGuard } from '../../auth/bearer-auth.guard';
import { CurrentUser } from '../../auth/current-user.decorator';
import { AgentService } from '../../runs/agent.service';
import { isInFlightStatus, type AgentEventEnvelope } from '@agent-pipeline/protocol';
import { PipelineError } from '../../errors/pipeline.error';
import { ApiErrors, RUN_START_ERRORS } from '../http/api-errors.decorator';
import { RunEventFollower, type RunFollow } from '../http/sse/run-event.follower';
import { SseFollowStreamer } from '../http/sse/sse-follow.streamer';
import { chatInputOf, toolApprovalResponseOf, type ToolApprovalResponse } from './chat-input';
import { AiSdkChatRequestDto } from './dto/ai-sdk-chat.dto';
import { SSE_DONE_FRAME, toSseFrame, UiMessageStreamTranslator } from './ui-message-stream.translator';
import { PipelineHttpRoutes } from '../http/pipeline-http.decorator';
import { TRACEPARENT_HEADER_DOC } from '../http/traceparent.header';

/** Where a stream pauses: at every tool approval (a live message), or at the one still open (a resumed one). */
interface PausePolicy {
  pauseAtApprovals?: boolean;
  pauseAt?: string;
  /** Continue the message from the answer to this approval (the request `addToolApprovalResponse` sent). */
  fromAnswerOf?: string;
}

/** The header that tells the AI SDK's transports the body is a UI message stream. */
const PROTOCOL_HEADER = 'x-vercel-ai-ui-message-stream';

/**
 * The Vercel AI SDK's `useChat` over `DefaultChatTransport`: a chat is a thread, each submitted
 * message a run on it, each run one assistant message streamed in the UI message stream protocol
 * (see {@link UiMessageStreamTranslator}). A thin view of the run: `AgentService` starts it, the
 * shared follower reads it from the store and live, the shared SSE streamer writes it.
 */
@ApiTags('ai-sdk')
@ApiBearerAuth()
@ApiErrors('UNAUTHORIZED', 'INTERNAL')
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('ai-sdk/agents/:agent/chat')
export class AiSdkChatController {
  constructor(
    private readonly agents: AgentService,
    private readonly follower: RunEventFollower,
    private readonly streamer: SseFollowStreamer,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Chat with an agent (AI SDK `useChat`)',
    description:
      'Takes the body `DefaultChatTransport` sends and runs the agent on thread `id` with the body field `input`, else ' +
      '`{ text }` of the last user message. Answers a UI message stream (SSE, `x-vercel-ai-ui-message-stream: v1`): one ' +
      'assistant message whose id is the run id and whose metadata holds `runId` (stop it with `POST /runs/{runId}/cancel`), ' +
      'ended by `[DONE]`. Closing the stream does not cancel the run; `GET …/chat/{chatId}/stream` resumes it.',
  })
  @ApiParam({ name: 'agent', description: 'A registered agent (see `GET /agents`).', example: 'echo' })
  @ApiBody({ type: AiSdkChatRequestDto })
  @ApiResponse({ status: 200, description: 'The UI message stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiHeader(TRACEPARENT_HEADER_DOC)
  @ApiErrors(...RUN_START_ERRORS)
  async chat(
    @CurrentUser() userId: string,
    @Param('agent') agent: string,
    @Body() body: AiSdkChatRequestDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // Every refusal up to the stream is an ordinary JSON error answer: nothing has been written yet.
    const input = await chatInputOf(body);
    const approval = toolApprovalResponseOf(body.messages as UIMessage[]);
    if (approval) return this.answerApproval(userId, approval, req, res);
    const run = await this.agents.start(userId, {
      agent,
      input,
      threadId: body.id,
      multitask: body.multitask,
      traceparent: req.headers.traceparent as string | undefined,
    });
    await this.streamRun(userId, run.runId, req, res, { pauseAtApprovals: true });
  }

  /**
   * A chat request sent by `addToolApprovalResponse`: the answer goes to the run the message is
   * (wherever it executes), and the stream continues the same message from that answer on.
   * `RUN_NOT_FOUND` when the message is no run of the caller's; `INTERRUPT_RESOLVED` when the
   * question was answered already (another tab, the interrupt route) or expired.
   */
  private async answerApproval(userId: string, approval: ToolApprovalResponse, req: Request, res: Response): Promise<void> {
    const { messageId: runId, interruptId, approved, reason } = approval;
    // Subscribed before the answer, so nothing the run does next can slip between the two.
    const follow = await this.follower.open(userId, runId, 0);
    try {
      await this.agents.resume(userId, runId, interruptId, { approved, ...(reason !== undefined ? { reason } : {}) });
    } catch (err) {
      follow.stop();
      throw err;
    }
    this.pipe(req, res, follow, userId, { pauseAtApprovals: true, fromAnswerOf: interruptId });
  }

  @Get(':chatId/stream')
  @ApiOperation({
    summary: "Resume a chat's stream (AI SDK `useChat` with `resume: true`)",
    description:
      "204 when the chat (the caller's thread `chatId`) has no run in flight; else that run's UI message stream from its " +
      'start (stored events, then live ones, each once). 404 `THREAD_NOT_FOUND` when the caller has no run on that thread.',
  })
  @ApiParam({ name: 'agent', description: 'The agent of the chat route; the thread is what is resumed.', example: 'echo' })
  @ApiParam({ name: 'chatId', description: 'The chat id (`id` of the chat requests).' })
  @ApiResponse({
    status: 200,
    description: 'The UI message stream of the run in flight.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 204, description: 'No run of the chat is in flight.' })
  @ApiErrors('THREAD_NOT_FOUND')
  async resume(@CurrentUser() userId: string, @Param('chatId') chatId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    // Newest first: a chat's latest message started its newest run (perhaps still queued behind
    // another), the one a resuming client shows.
    const [latest] = await this.agents.listRuns(userId, { threadId: chatId, limit: 1 });
    if (!latest)
      throw new PipelineError('THREAD_NOT_FOUND', `Chat '${String(chatId).slice(0, 128)}' was not found: you have no run on that thread.`);
    if (!isInFlightStatus(latest.status)) {
      res.status(204).end();
      return;
    }
    // A message paused at a tool approval is shown paused again, until the approval is answered.
    const open = (await this.agents.describeRun(userId, latest.runId)).interrupt;
    await this.streamRun(userId, latest.runId, req, res, { pauseAt: open?.interruptId });
  }

  /** The run's whole UI message stream: from its first event, so the translator rebuilds its state. */
  private async streamRun(userId: string, runId: string, req: Request, res: Response, pause: PausePolicy): Promise<void> {
    this.pipe(req, res, await this.follower.open(userId, runId, 0), userId, pause);
  }

  private pipe(req: Request, res: Response, follow: RunFollow, userId: string, pause: PausePolicy): void {
    const translator = new UiMessageStreamTranslator();
    const pausesAt = (event: AgentEventEnvelope) =>
      translator.isToolApproval(event) &&
      (pause.pauseAtApprovals === true || (event as AgentEventEnvelope<'interrupt_requested'>).data.interruptId === pause.pauseAt);
    // Answering an approval continues the message: nothing before the answer is sent again.
    let continuing = pause.fromAnswerOf === undefined;
    this.streamer.stream(req, res, follow, userId, {
      name: 'ai-sdk',
      headers: { [PROTOCOL_HEADER]: UI_MESSAGE_STREAM_HEADERS[PROTOCOL_HEADER] },
      frames: (event) => {
        const parts = translator.translate(event);
        if (!continuing) {
          continuing =
            event.type === 'interrupt_resolved' &&
            (event as AgentEventEnvelope<'interrupt_resolved'>).data.interruptId === pause.fromAnswerOf;
          if (!continuing) return '';
          parts.unshift(...translator.continuation());
        }
        if (pausesAt(event)) return [...parts, ...translator.pause()].map(toSseFrame).join('') + SSE_DONE_FRAME;
        return parts.map(toSseFrame).join('');
      },
      end: () => translator.close().map(toSseFrame).join('') + SSE_DONE_FRAME,
      endsAfter: pausesAt,
    });
  }
}
