import { Injectable, Logger } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolRequest, CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { isTerminalEventType, type AgentEventEnvelope, type InterruptRequestedData } from '@agent-pipeline/protocol';
import { PipelineError } from '../../errors/pipeline.error';
import { AgentService, type StartedRun } from '../../runs/agent.service';
import { RunEventFollower } from '../http/sse/run-event.follower';
import { answerOf, canElicitForms, elicitationOf } from './mcp-elicitation';
import { mcpServerSdk } from './mcp-sdk.loader';
import { errorResult, progressMessage, toolResultOf } from './mcp-tool.mapping';

/** What a `tools/call` handler is given besides the request. */
export type McpCallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** How often a call whose run has sent nothing reads the store (the run may execute on another node). */
const CATCH_UP_MS = 1000;

/**
 * Runs an agent for one MCP `tools/call`, as the caller: an ordinary start through
 * `AgentService` (limits, store, rooms, the thread of `_meta.threadId`, else a new one), followed
 * to its end. Every event goes to the client as a progress notification when the call has a
 * `progressToken`; a cancellation of the call cancels the run; a question of the run is put to
 * the client as an elicitation form when it can show one, and otherwise waits for the user's
 * other channels (page, HTTP), as any waiting run does.
 */
@Injectable()
export class McpToolCallRunner {
  private readonly logger = new Logger('AgentPipelineMcp');

  constructor(
    private readonly agents: AgentService,
    private readonly follower: RunEventFollower,
  ) {}

  async call(userId: string, server: Server, params: CallToolRequest['params'], extra: McpCallExtra): Promise<CallToolResult> {
    const names = this.agents.listAgents().map((a) => a.name);
    if (!names.includes(params.name)) {
      const { McpError, ErrorCode } = mcpServerSdk();
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool '${params.name}'. Tools: ${names.join(', ') || '(none)'}.`);
    }
    const threadId = params._meta?.threadId;
    if (threadId !== undefined && typeof threadId !== 'string') {
      return errorResult('VALIDATION_FAILED', '_meta.threadId must be a string (the thread to run on), or left out for a new thread.');
    }
    let run: StartedRun;
    try {
      run = await this.agents.start(userId, { agent: params.name, input: params.arguments ?? {}, threadId });
    } catch (err) {
      if (err instanceof PipelineError) return errorResult(err.code, err.message);
      throw err;
    }
    return this.follow(userId, run, server, params._meta?.progressToken, extra);
  }

  private async follow(
    userId: string,
    run: StartedRun,
    server: Server,
    progressToken: string | number | undefined,
    extra: McpCallExtra,
  ): Promise<CallToolResult> {
    const { runId, threadId } = run;
    const follow = await this.follower.open(userId, runId, 0);
    const cancel = () =>
      void this.agents.cancel(userId, runId).catch((err: unknown) => {
        // Already over: the cancellation crossed the run's end.
        if (!(err instanceof PipelineError && err.code === 'RUN_FINISHED'))
          this.logger.warn({ msg: `MCP cancel failed: ${(err as Error).message}`, runId });
      });
    // The SDK aborts a call's signal for a cancellation notification, and also when the session
    // closes (the client ended it, it idled out, the server shuts down). Only the first cancels the
    // run: a client that goes away does not, as with POST /runs. A closed server has no transport
    // by the end of the closing turn.
    const onAbort = () => queueMicrotask(() => server.transport !== undefined && cancel());
    if (extra.signal.aborted) onAbort();
    extra.signal.addEventListener('abort', onAbort, { once: true });
    const questions = new Map<string, AbortController>();
    const elicits = canElicitForms(server.getClientCapabilities());
    let terminal: AgentEventEnvelope | undefined;
    let heardSinceTick = false;
    const poll = setInterval(() => {
      if (!heardSinceTick)
        follow.catchUp().catch((err: unknown) => this.logger.warn({ msg: `MCP catch-up failed: ${(err as Error).message}`, runId }));
      heardSinceTick = false;
    }, CATCH_UP_MS);
    try {
      await new Promise<void>((resolve) =>
        follow.start({
          event: (event) => {
            heardSinceTick = true;
            if (progressToken !== undefined && !extra.signal.aborted) {
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken, progress: event.seq, message: progressMessage(event) },
                })
                .catch(() => undefined);
            }
            if (event.type === 'interrupt_requested' && elicits) {
              const question = event.data as InterruptRequestedData;
              const asking = new AbortController();
              questions.set(question.interruptId, asking);
              void this.ask(userId, runId, question, asking.signal, extra);
            } else if (event.type === 'interrupt_resolved') {
              // Answered elsewhere (or by the form): the client's form is withdrawn.
              const id = (event.data as { interruptId: string }).interruptId;
              questions.get(id)?.abort();
              questions.delete(id);
            }
            if (isTerminalEventType(event.type)) terminal = event;
          },
          end: resolve,
        }),
      );
    } finally {
      clearInterval(poll);
      follow.stop();
      extra.signal.removeEventListener('abort', onAbort);
      for (const asking of questions.values()) asking.abort();
    }
    return toolResultOf(terminal, { runId, threadId });
  }

  /** Puts one question to the client as a form, and answers the run with what the user filled in. */
  private async ask(
    userId: string,
    runId: string,
    question: InterruptRequestedData,
    signal: AbortSignal,
    extra: McpCallExtra,
  ): Promise<void> {
    const form = elicitationOf(question);
    if (!form) return;
    try {
      const timeout = Math.max(1, Date.parse(question.expiresAt) - Date.now());
      const result = await extra.sendRequest({ method: 'elicitation/create', params: form }, mcpServerSdk().ElicitResultSchema, {
        signal,
        timeout,
      });
      const answer = answerOf(question, result);
      if (answer) await this.agents.resume(userId, runId, question.interruptId, answer);
    } catch (err) {
      // Withdrawn, expired, answered elsewhere first, or refused by its schema: the question stays with the other channels.
      if (!signal.aborted) this.logger.debug({ msg: `MCP elicitation gave no answer: ${(err as Error).message}`, runId });
    }
  }
}
