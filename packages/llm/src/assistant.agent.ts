import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { IsNotEmpty, IsString } from 'class-validator';
import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import { Agent, AgentResult, type AgentHandler, type AgentRunContext, type RunUsage } from '@agent-pipeline/nestjs';
import { DeltaBatcher } from './delta.batcher';
import { LlmClient } from './llm.client';
import { LLM_SETTINGS, type LlmSettings } from './llm.options';
import { ThreadMemory } from './thread-memory.service';
import { ToolCallRunner, toolMessageContent } from './tools/tool-call.runner';
import { ToolCatalog, type OfferedTool } from './tools/tool.catalog';

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** The agent's name, as clients start it. */
export const ASSISTANT_AGENT_NAME = 'assistant';

/** Input of the `assistant` agent. */
export class AssistantInput {
  /** The user's message. */
  @IsString()
  @IsNotEmpty()
  text: string;
}

/** `agent_completed` data of an `assistant` run, besides `result` (the final text) and `durationMs`. */
export interface AssistantCompletionExtra {
  /** Tokens of all the run's model calls together (0 when the provider reports none), counted by the pipeline. */
  usage?: RunUsage;
}

/**
 * Chats with a model behind any OpenAI-compatible Chat Completions API. Each run sends the
 * thread's earlier messages and the user's text, streams the answer as `agent_message_delta`
 * events, runs the tools the model calls (`tool_executing` / `tool_completed`; a tool that needs
 * approval asks the user first, and a refusal goes back to the model instead) and sends their
 * results back, one `agent_thinking` per model call, until the model answers without calling a
 * tool or `LLM_MAX_STEPS` calls are spent. Completes with the final answer's text; the pipeline adds the
 * run's token usage (each model call is one `chat <model>` span and each tool call one `execute_tool <tool>` span when tracing is on).
 *
 * Durable: the thread's history, each model call and each tool call are steps, so a run whose
 * node died goes on from its last finished call (the call in flight is made again, its text in a
 * new message) with the memory it started with, and an approval it waits on survives restarts.
 */
@Agent({
  name: ASSISTANT_AGENT_NAME,
  description: 'Chats with a language model that can call the tools of the app; remembers the thread.',
  input: AssistantInput,
  durable: true,
  callsModel: true,
})
export class AssistantAgent implements AgentHandler<AssistantInput, AgentResult<string>>, OnApplicationBootstrap {
  constructor(
    private readonly llm: LlmClient,
    private readonly tools: ToolCatalog,
    private readonly toolCalls: ToolCallRunner,
    private readonly memory: ThreadMemory,
    @Inject(LLM_SETTINGS) private readonly settings: LlmSettings,
  ) {}

  /** Refuses to start with an `LLM_APPROVAL_TOOLS` entry that names no tool (a typo would silently skip the approval). */
  onApplicationBootstrap(): void {
    const unknown = this.tools.unknownApprovalEntries();
    if (unknown.length > 0) {
      throw new Error(
        `LlmModule: 'approvalTools' names ${unknown.map((n) => `'${n}'`).join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} no tool. ` +
          `Registered tools: ${this.tools.names().join(', ') || '(none)'}` +
          (this.settings.mcpServers.length > 0
            ? `; MCP servers: ${this.settings.mcpServers.map((s) => s.name).join(', ')} (use mcp__<server>__<tool> or mcp__<server>__*).`
            : '.'),
      );
    }
  }

  /** Whether a call of `tool` waits for the user's approval (`needsApproval`, or covered by `LLM_APPROVAL_TOOLS`). */
  needsApproval(tool: string): boolean {
    return this.tools.needsApproval(tool);
  }

  async run({
    input,
    signal,
    notifier,
    userId,
    runId,
    threadId,
    interrupt,
    step: runStep,
    telemetry,
  }: AgentRunContext<AssistantInput>): Promise<AgentResult<string>> {
    // What the model is told of the thread is what it was told in the run's first attempt.
    const history = await runStep('thread-history', () =>
      this.memory.history({ userId, threadId, runId, agent: ASSISTANT_AGENT_NAME, limit: this.settings.historyMessages }),
    );
    const messages: Message[] = [
      ...(this.settings.systemPrompt ? [{ role: 'system' as const, content: this.settings.systemPrompt }] : []),
      ...history,
      { role: 'user', content: input.text },
    ];
    const tools = this.tools.list().map(toFunctionTool);
    const deltas = new DeltaBatcher(
      (messageId, text) => notifier.messageDelta(text, messageId),
      this.settings.maxDeltaEventsPerSecond,
      signal,
    );
    const toolCallIds = new Set<string>();
    let toolResults = 0;
    try {
      for (let step = 1; step <= this.settings.maxSteps; step++) {
        const turn = await runStep(`model-call-${step}`, async () => {
          notifier.thinking(
            step === 1
              ? `Asking ${this.llm.model}${history.length > 0 ? ` with ${plural(history.length, 'earlier message')} of this thread` : ''}`
              : `Sending ${plural(toolResults, 'tool result')} back to ${this.llm.model}`,
          );
          const messageId = randomUUID();
          const streamed = await this.llm.stream(
            { messages, tools },
            { signal, telemetry, onText: (text) => deltas.push(messageId, text) },
          );
          await deltas.flush();
          // Some local servers send calls without ids; the tool messages must answer each call by id.
          const toolCalls = streamed.toolCalls.map((call) => ({ ...call, id: call.id || `call_${randomUUID()}` }));
          return { content: streamed.content, toolCalls };
        });
        // The pipeline adds the run's `usage` (every call's tokens) to agent_completed.
        if (turn.toolCalls.length === 0) return new AgentResult(turn.content);
        const calls = turn.toolCalls;
        messages.push({
          role: 'assistant',
          content: turn.content || null,
          tool_calls: calls.map((call) => ({
            id: call.id,
            type: 'function' as const,
            function: { name: call.name, arguments: call.arguments },
          })),
        });
        for (const call of calls) {
          // Event ids must be unique per run; some servers number their calls afresh in every step.
          // Made from the call's place (not at random), so that a resumed run names its steps alike.
          const eventId = toolCallIds.has(call.id) ? `${call.id}-${step}-${calls.indexOf(call) + 1}` : call.id;
          toolCallIds.add(eventId);
          const askUser = this.needsApproval(call.name) ? interrupt : undefined;
          const outcome = await this.toolCalls.run(
            call,
            notifier,
            { signal, userId, runId, threadId, telemetry },
            eventId,
            askUser,
            runStep,
          );
          messages.push({ role: 'tool', tool_call_id: call.id, content: toolMessageContent(outcome) });
        }
        toolResults = calls.length;
      }
    } finally {
      deltas.dispose();
    }
    throw new Error(
      `The model was still calling tools after LLM_MAX_STEPS (${this.settings.maxSteps}) model calls, so the run was stopped ` +
        'without a final answer. Raise LLM_MAX_STEPS if the task needs more tool calls.',
    );
  }
}

function toFunctionTool(tool: OfferedTool): OpenAI.Chat.Completions.ChatCompletionFunctionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
    },
  };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
