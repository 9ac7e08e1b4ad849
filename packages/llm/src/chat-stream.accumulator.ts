import type OpenAI from 'openai';
import type { ToolCallRequest } from './tools/tool-call.runner';

/** Token counts of one model call as the provider reported them (a run's `usage` sums them). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** One streamed assistant message, put back together. */
export interface AssistantTurn {
  /** The message text ('' when the model only called tools). */
  content: string;
  /** Function calls in the order the model made them; ids are as the model sent them ('' if none). */
  toolCalls: ToolCallRequest[];
  /** `stop`, `tool_calls`, `length`, …; null when the stream ended without one. */
  finishReason: string | null;
  usage?: TokenUsage;
  /** The model that answered, as the chunks name it. */
  model?: string;
}

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ToolCallDelta = OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall;

/**
 * Rebuilds an assistant message from Chat Completions stream chunks: text deltas, tool calls
 * whose id, name and arguments arrive in pieces spread over many chunks (keyed by `index`), the
 * finish reason and the usage chunk that `stream_options.include_usage` adds at the end.
 * Tolerant of what OpenAI-compatible servers leave out (no `index`, usage on the last choice chunk).
 */
export class ChatStreamAccumulator {
  private content = '';
  private readonly calls: ToolCallRequest[] = [];
  private readonly callsByIndex = new Map<number, ToolCallRequest>();
  private finishReason: string | null = null;
  private usage?: TokenUsage;
  private model?: string;

  /** Adds one chunk; returns the text it adds to the message ('' when none). */
  push(chunk: Chunk): string {
    if (chunk.usage) this.usage = toUsage(chunk.usage) ?? this.usage;
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model;
    let text = '';
    // We ask for one choice; a server that sends more is followed on the first one only.
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') text += delta.content;
      // A refusal replaces the content: show it to the user rather than an empty answer.
      if (typeof delta.refusal === 'string') text += delta.refusal;
      for (const call of delta.tool_calls ?? []) this.addToolCallDelta(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    this.content += text;
    return text;
  }

  /** True once a choice reported its finish reason. */
  get finished(): boolean {
    return this.finishReason !== null;
  }

  result(): AssistantTurn {
    return {
      content: this.content,
      toolCalls: this.calls.filter((c) => c.name !== '').map((c) => ({ ...c })),
      finishReason: this.finishReason,
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.model ? { model: this.model } : {}),
    };
  }

  private addToolCallDelta(delta: ToolCallDelta): void {
    const call = this.callFor(delta);
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name = delta.function.name;
    if (typeof delta.function?.arguments === 'string') call.arguments += delta.function.arguments;
  }

  private callFor(delta: ToolCallDelta): ToolCallRequest {
    if (typeof delta.index === 'number') {
      let call = this.callsByIndex.get(delta.index);
      if (!call) {
        call = { id: '', name: '', arguments: '' };
        this.callsByIndex.set(delta.index, call);
        this.calls.push(call);
      }
      return call;
    }
    // No index: a new id starts a new call, anything else continues the last one.
    const last = this.calls[this.calls.length - 1];
    if (last && (!delta.id || delta.id === last.id)) return last;
    const call = { id: '', name: '', arguments: '' };
    this.calls.push(call);
    return call;
  }
}

function toUsage(usage: OpenAI.CompletionUsage): TokenUsage | undefined {
  const { prompt_tokens, completion_tokens } = usage;
  if (typeof prompt_tokens !== 'number' || typeof completion_tokens !== 'number') return undefined;
  return { inputTokens: prompt_tokens, outputTokens: completion_tokens };
}
