import type { UIMessageChunk } from 'ai';
import type { AgentEventEnvelope, AnyAgentEvent } from '@agent-pipeline/protocol';

/**
 * The `messageMetadata` of the `start` and `finish` parts: how a `useChat` client finds the run
 * behind an assistant message (to stop it with `POST /runs/:runId/cancel`) and how it ended.
 */
export interface RunMessageMetadata {
  runId: string;
  threadId: string;
  agent: string;
  /** On `finish` only: how the run ended, or `waiting` when the message pauses for a tool approval. */
  status?: 'completed' | 'failed' | 'cancelled' | 'waiting';
  /** On `finish` of a failed run. */
  error?: { code: string; message: string };
  /** On `finish` of a cancelled run: the cancel's reason (`user`, `shutdown`, …). */
  reason?: string;
}

/** A UI message stream part of this server (its metadata typed). */
export type RunMessageChunk = UIMessageChunk<RunMessageMetadata>;

/**
 * Our run events in the vocabulary of the AI SDK's UI message stream (protocol v1), one stream
 * per instance. The whole mapping is here:
 *
 * | run event             | UI message stream parts                                                     |
 * |-----------------------|-----------------------------------------------------------------------------|
 * | `agent_started`       | `start` (`messageId` = runId, metadata `{ runId, threadId, agent }`), `start-step` |
 * | `agent_thinking`      | `reasoning-start` / `reasoning-delta` (the thought) / `reasoning-end`       |
 * | `agent_message_delta` | `text-start` (first delta of its `messageId`), `text-delta`                 |
 * | `tool_executing`      | `tool-input-available` (`toolName` = tool, `input` = args)                  |
 * | `tool_completed`      | `tool-output-available` (`output` = result), or `tool-output-error`         |
 * | `agent_completed`     | `finish-step`, `finish` (`stop`, metadata `status: completed`)              |
 * | `agent_error`         | `finish-step`, `error` (`errorText` = `<CODE>: <message>`), `finish` (`error`) |
 * | `agent_cancelled`     | `finish-step`, `abort` (the reason), `finish` (`other`, `status: cancelled`) |
 * | `interrupt_requested` | an approval of a tool call: `tool-input-available` (the call, unless already announced), `tool-approval-request` (`approvalId` = interruptId); any other question: `data-interrupt` (`id` = interruptId, `data` = the question, `status: "pending"`) |
 * | `interrupt_resolved`  | a tool approval denied or expired: `tool-output-denied`; approved: nothing (the call's output follows); any other question: `data-interrupt` again (same `id`, so it replaces the first) with `status` = the resolution, `response?`, `reason?` |
 * | `agent_resumed`       | `text-end` (open text: the resumed attempt writes new messages), `data-agent-resumed` (`id` = `resumed-<seq>`, `data` = `{ attempt, afterSeq, reason }`) |
 *
 * A tool approval pauses the message ({@link UiMessageStreamTranslator.pause}); the SDK's
 * `addToolApprovalResponse` answers it with the next chat request, whose stream continues the
 * same message ({@link UiMessageStreamTranslator.continuation}). Any question can also be answered
 * with `POST /runs/:runId/interrupts/:interruptId` or `run:resume`.
 * An open text part is closed (`text-end`) before any other part and at the end. The only state is
 * that open part and whether the message has started and finished, all derived from the events
 * seen: a stream resumed from the store rebuilds it by translating the run from its first event.
 */
export class UiMessageStreamTranslator {
  private openTextId?: string;
  private started = false;
  private finished = false;
  private run?: Pick<RunMessageMetadata, 'runId' | 'threadId' | 'agent'>;
  /** Tool calls whose `tool-input-available` is out (an approval announces the call before it runs). */
  private readonly announcedCalls = new Set<string>();
  /** Open questions: the tool call an approval is about, or the question for `data-interrupt`. */
  private readonly questions = new Map<string, { toolCallId?: string; data: Record<string, unknown> }>();

  /** The parts for one event, in order (none for an event seen after the run's end). */
  translate(envelope: AgentEventEnvelope): RunMessageChunk[] {
    if (this.finished) return [];
    const event = envelope as AnyAgentEvent;
    this.run ??= { runId: event.runId, threadId: event.threadId, agent: event.agent };
    const parts: RunMessageChunk[] = [];
    if (!this.started) {
      this.started = true;
      parts.push({ type: 'start', messageId: event.runId, messageMetadata: { ...this.run } }, { type: 'start-step' });
    }
    switch (event.type) {
      case 'agent_started':
        break;
      case 'agent_thinking': {
        this.closeText(parts);
        const id = `reasoning-${event.seq}`;
        parts.push(
          { type: 'reasoning-start', id },
          { type: 'reasoning-delta', id, delta: event.data.thought },
          { type: 'reasoning-end', id },
        );
        break;
      }
      case 'agent_message_delta': {
        const id = event.data.messageId;
        if (this.openTextId !== id) {
          this.closeText(parts);
          this.openTextId = id;
          parts.push({ type: 'text-start', id });
        }
        parts.push({ type: 'text-delta', id, delta: event.data.delta });
        break;
      }
      case 'tool_executing':
        this.closeText(parts);
        this.announceCall(parts, event.data.toolCallId, event.data.tool, event.data.args);
        break;
      case 'interrupt_requested': {
        this.closeText(parts);
        const { interruptId, kind, toolCallId, tool, args } = event.data;
        if (kind === 'approval' && toolCallId !== undefined && tool !== undefined) {
          this.questions.set(interruptId, { toolCallId, data: {} });
          this.announceCall(parts, toolCallId, tool, args);
          parts.push({ type: 'tool-approval-request', approvalId: interruptId, toolCallId });
        } else {
          const data = { ...event.data, status: 'pending' };
          this.questions.set(interruptId, { data });
          parts.push({ type: 'data-interrupt', id: interruptId, data });
        }
        break;
      }
      case 'interrupt_resolved': {
        const { interruptId, resolution, response, reason } = event.data;
        const question = this.questions.get(interruptId);
        if (!question) break;
        this.closeText(parts);
        if (question.toolCallId !== undefined) {
          if (resolution !== 'approved') parts.push({ type: 'tool-output-denied', toolCallId: question.toolCallId });
        } else {
          const answered = {
            ...question.data,
            status: resolution,
            ...(response !== undefined ? { response } : {}),
            ...(reason !== undefined ? { reason } : {}),
          };
          parts.push({ type: 'data-interrupt', id: interruptId, data: answered });
        }
        break;
      }
      case 'tool_completed':
        this.closeText(parts);
        parts.push(
          event.data.error !== undefined
            ? { type: 'tool-output-error', toolCallId: event.data.toolCallId, errorText: event.data.error }
            : { type: 'tool-output-available', toolCallId: event.data.toolCallId, output: event.data.result ?? null },
        );
        break;
      case 'agent_completed':
        this.endMessage(parts);
        parts.push({ type: 'finish', finishReason: 'stop', messageMetadata: { ...this.run, status: 'completed' } });
        break;
      case 'agent_error': {
        const error = { code: event.data.code, message: event.data.message };
        this.endMessage(parts);
        parts.push(
          { type: 'error', errorText: `${error.code}: ${error.message}` },
          { type: 'finish', finishReason: 'error', messageMetadata: { ...this.run, status: 'failed', error } },
        );
        break;
      }
      case 'agent_cancelled':
        this.endMessage(parts);
        parts.push(
          { type: 'abort', reason: event.data.reason },
          { type: 'finish', finishReason: 'other', messageMetadata: { ...this.run, status: 'cancelled', reason: event.data.reason } },
        );
        break;
      case 'agent_resumed':
        this.closeText(parts);
        parts.push({ type: 'data-agent-resumed', id: `resumed-${event.seq}`, data: event.data });
        break;
      default:
        // An event type this translator does not know yet: the client is told nothing of it.
        break;
    }
    return parts;
  }

  /** True for the question that the SDK's tool approval carries (`tool-approval-request`). */
  isToolApproval(envelope: AgentEventEnvelope): boolean {
    if (envelope.type !== 'interrupt_requested') return false;
    const { kind, toolCallId, tool } = (envelope as AgentEventEnvelope<'interrupt_requested'>).data;
    return kind === 'approval' && toolCallId !== undefined && tool !== undefined;
  }

  /**
   * The parts that pause the message at a tool approval, as the AI SDK's own approval flow does:
   * the step and the message finish (`status: "waiting"`), and the client answers with
   * `addToolApprovalResponse`, which sends the next chat request of the same message.
   */
  pause(): RunMessageChunk[] {
    const parts: RunMessageChunk[] = [];
    this.closeText(parts);
    parts.push(
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'other', messageMetadata: this.run && { ...this.run, status: 'waiting' } },
    );
    return parts;
  }

  /** The parts that open the same message again, for the request that answered its approval. */
  continuation(): RunMessageChunk[] {
    return [{ type: 'start', messageId: this.run?.runId, messageMetadata: this.run && { ...this.run } }, { type: 'start-step' }];
  }

  /**
   * The parts that close a message whose run's end never came (the run disappeared from the
   * store): none when it had finished, or never started.
   */
  close(): RunMessageChunk[] {
    if (this.finished || !this.started) return [];
    const parts: RunMessageChunk[] = [];
    this.endMessage(parts);
    parts.push({ type: 'finish', finishReason: 'other', messageMetadata: this.run && { ...this.run } });
    return parts;
  }

  private announceCall(parts: RunMessageChunk[], toolCallId: string, tool: string, args: unknown): void {
    if (this.announcedCalls.has(toolCallId)) return;
    this.announcedCalls.add(toolCallId);
    parts.push({ type: 'tool-input-available', toolCallId, toolName: tool, input: args ?? {} });
  }

  private closeText(parts: RunMessageChunk[]): void {
    if (this.openTextId === undefined) return;
    parts.push({ type: 'text-end', id: this.openTextId });
    this.openTextId = undefined;
  }

  private endMessage(parts: RunMessageChunk[]): void {
    this.closeText(parts);
    parts.push({ type: 'finish-step' });
    this.finished = true;
  }
}

/**
 * One part in the SSE framing of the UI message stream: the same bytes as the AI SDK's
 * `JsonToSseTransformStream` writes (the spec checks that), produced synchronously so the shared
 * pump can bound what a slow client leaves unread.
 */
export function toSseFrame(part: RunMessageChunk): string {
  return `data: ${JSON.stringify(part)}\n\n`;
}

/** The last frame of every UI message stream that reached its end. */
export const SSE_DONE_FRAME = 'data: [DONE]\n\n';
