import { EventType, type AGUIEvent, type TokenUsage } from '@ag-ui/core';
import type { AgentEventEnvelope, AgentEventType } from '@agent-pipeline/protocol';

/**
 * Our run events in AG-UI's words. Pure: no I/O, no clock; the same source events always give the
 * same AG-UI events, so a resumed stream that replays the events before its resume point through
 * a fresh translator (discarding the output) ends up in the state the broken stream had.
 *
 * | source event          | AG-UI events |
 * |-----------------------|--------------|
 * | `agent_started`       | `RUN_STARTED` (`threadId`, `runId` = the AG-UI run id, `rawEvent` = the envelope, with our `runId`) |
 * | `agent_thinking`      | `REASONING_START`, `REASONING_MESSAGE_START`, `REASONING_MESSAGE_CONTENT` (the thought), `REASONING_MESSAGE_END`, `REASONING_END` |
 * | `agent_message_delta` | `TEXT_MESSAGE_START` (first delta of a `messageId`; ends the open message first), `TEXT_MESSAGE_CONTENT` |
 * | `tool_executing`      | `TOOL_CALL_START` (`toolCallName` = tool), `TOOL_CALL_ARGS` (JSON of the args), `TOOL_CALL_END` |
 * | `tool_completed`      | `TOOL_CALL_RESULT` (`content` = JSON of the result, or of `{ error }`) |
 * | `agent_completed`     | `TEXT_MESSAGE_END` (open message), `RUN_FINISHED` (`result`, `outcome: { type: "success" }`, `usage`) |
 * | `agent_error`         | `TEXT_MESSAGE_END` (open message), `RUN_ERROR` (`message`, `code`) |
 * | `agent_cancelled`     | `TEXT_MESSAGE_END` (open message), `RUN_FINISHED` (`outcome: { type: "cancelled" }`) |
 * | `interrupt_requested` | `TEXT_MESSAGE_END` (open message), `RUN_FINISHED` (`outcome: { type: "interrupt", interrupts: [{ id, reason: kind, message, toolCallId?, responseSchema?, expiresAt, metadata: { tool?, args? } }] }`): the AG-UI run ends here ({@link endsAgUiRun}) |
 * | `interrupt_resolved`  | `RUN_STARTED` (the next AG-UI run: the one whose `resume` answered the question; `rawEvent` = the envelope) |
 * | `agent_resumed`       | `TEXT_MESSAGE_END` (open message: the resumed attempt writes new messages), `CUSTOM` (`name: "agent_resumed"`, `value` = its data) |
 */
/** The run ids AG-UI events carry: the thread is ours (the client named it), the run id is the AG-UI one. */
interface AgUiRunIds {
  threadId: string;
  runId: string;
}

/** What a translator remembers between events of one stream. */
interface TranslatorState {
  /** The text message started and not yet ended. */
  openMessageId?: string;
}

type Row<T extends AgentEventType> = (event: AgentEventEnvelope<T>, ids: AgUiRunIds, state: TranslatorState) => AGUIEvent[];

/** The mapping, one row per source event type. */
const MAPPING: { [T in AgentEventType]: Row<T> } = {
  agent_started: (event, ids) => [{ type: EventType.RUN_STARTED, threadId: ids.threadId, runId: ids.runId, rawEvent: event }],

  agent_thinking: (event) => {
    // One closed reasoning message per thought: nothing stays open across source events.
    const messageId = `${event.runId}:${event.seq}:thinking`;
    return [
      { type: EventType.REASONING_START, messageId },
      { type: EventType.REASONING_MESSAGE_START, messageId, role: 'reasoning' },
      { type: EventType.REASONING_MESSAGE_CONTENT, messageId, delta: event.data.thought },
      { type: EventType.REASONING_MESSAGE_END, messageId },
      { type: EventType.REASONING_END, messageId },
    ];
  },

  agent_message_delta: (event, _ids, state) => {
    const { messageId, delta } = event.data;
    const out: AGUIEvent[] = [];
    if (state.openMessageId !== messageId) {
      out.push(...endOpenMessage(state));
      out.push({ type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' });
      state.openMessageId = messageId;
    }
    out.push({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta });
    return out;
  },

  tool_executing: (event) => {
    const { toolCallId, tool, args } = event.data;
    return [
      { type: EventType.TOOL_CALL_START, toolCallId, toolCallName: tool },
      { type: EventType.TOOL_CALL_ARGS, toolCallId, delta: toJson(args ?? {}) },
      { type: EventType.TOOL_CALL_END, toolCallId },
    ];
  },

  tool_completed: (event) => {
    const { toolCallId, result, error } = event.data;
    return [
      {
        type: EventType.TOOL_CALL_RESULT,
        // The tool message AG-UI adds to the conversation; unique per run event.
        messageId: `${event.runId}:${event.seq}:tool-result`,
        toolCallId,
        role: 'tool',
        content: toJson(error !== undefined ? { error } : result),
      },
    ];
  },

  agent_completed: (event, ids, state) => {
    const usage = toUsage(event.data.usage);
    return [
      ...endOpenMessage(state),
      {
        type: EventType.RUN_FINISHED,
        threadId: ids.threadId,
        runId: ids.runId,
        result: event.data.result,
        outcome: { type: 'success' },
        ...(usage ? { usage: [usage] } : {}),
      },
    ];
  },

  agent_error: (event, _ids, state) => [
    ...endOpenMessage(state),
    { type: EventType.RUN_ERROR, message: event.data.message, code: event.data.code },
  ],

  agent_cancelled: (_event, ids, state) => [
    ...endOpenMessage(state),
    { type: EventType.RUN_FINISHED, threadId: ids.threadId, runId: ids.runId, outcome: { type: 'cancelled' } },
  ],

  interrupt_requested: (event, ids, state) => {
    const { interruptId, kind, message, toolCallId, tool, args, responseSchema, expiresAt } = event.data;
    const interrupt = {
      id: interruptId,
      reason: kind,
      message,
      expiresAt,
      ...(toolCallId !== undefined ? { toolCallId } : {}),
      ...(responseSchema !== undefined ? { responseSchema: responseSchema as Record<string, unknown> } : {}),
      ...(tool !== undefined ? { metadata: { tool, args } } : {}),
    };
    return [
      ...endOpenMessage(state),
      { type: EventType.RUN_FINISHED, threadId: ids.threadId, runId: ids.runId, outcome: { type: 'interrupt', interrupts: [interrupt] } },
    ];
  },

  // The answer opens the next AG-UI run: the request that carried `resume` streams from here.
  interrupt_resolved: (event, ids) => [{ type: EventType.RUN_STARTED, threadId: ids.threadId, runId: ids.runId, rawEvent: event }],

  agent_resumed: (event, _ids, state) => [...endOpenMessage(state), { type: EventType.CUSTOM, name: 'agent_resumed', value: event.data }],
};

/** True when the AG-UI run ends at this source event although ours goes on (it waits for its user). */
export function endsAgUiRun(event: AgentEventEnvelope): boolean {
  return event.type === 'interrupt_requested';
}

/** Translates one stream's source events, in seq order, into AG-UI events. */
export class AgUiTranslator {
  private readonly state: TranslatorState = {};

  /** @param aguiRunId The run id `RUN_STARTED` and `RUN_FINISHED` carry. */
  constructor(private readonly aguiRunId: string) {}

  /** The AG-UI events of one source event (none for a type AG-UI has no words for). */
  translate(event: AgentEventEnvelope): AGUIEvent[] {
    const row = (MAPPING as Record<string, Row<AgentEventType> | undefined>)[event.type];
    return row ? row(event, { threadId: event.threadId, runId: this.aguiRunId }, this.state) : [];
  }
}

function endOpenMessage(state: TranslatorState): AGUIEvent[] {
  if (state.openMessageId === undefined) return [];
  const messageId = state.openMessageId;
  state.openMessageId = undefined;
  return [{ type: EventType.TEXT_MESSAGE_END, messageId }];
}

function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** A run's `usage` (`{ inputTokens, outputTokens }`) as AG-UI token usage. */
function toUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { inputTokens, outputTokens } = value as Record<string, unknown>;
  const usage: TokenUsage = {};
  if (Number.isSafeInteger(inputTokens)) usage.inputTokens = inputTokens as number;
  if (Number.isSafeInteger(outputTokens)) usage.outputTokens = outputTokens as number;
  if (usage.inputTokens !== undefined && usage.outputTokens !== undefined) usage.totalTokens = usage.inputTokens + usage.outputTokens;
  return Object.keys(usage).length > 0 ? usage : undefined;
}
