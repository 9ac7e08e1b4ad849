import { Inject, Injectable, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { AgentErrorCode, AgentEventDataMap, AgentEventEnvelope, AgentEventType, TerminalEventType } from '@agent-pipeline/protocol';
import { UserEmitterFactory } from '../emitter/user-emitter.factory';
import type { UserEmitter } from '../emitter/user.emitter';
import type { UserExecutionContext } from './user-execution.context';

/** What an agent may report while it runs. */
export interface AgentNotifier {
  /** Reports a reasoning step; steps count 1, 2, … per run. */
  thinking(thought: string): void;
  /** Reports a tool call starting; returns its `toolCallId` (made here unless given). */
  toolExecuting(tool: string, args: unknown, toolCallId?: string): string;
  /** Reports a tool call's end with its result or error. */
  toolCompleted(toolCallId: string, tool: string, outcome: { result?: unknown; error?: string }, durationMs: number): void;
  /** Streams a piece of an assistant message; returns the `messageId` (made here unless given). */
  messageDelta(delta: string, messageId?: string): string;
}

/**
 * One run's event source (`Scope.REQUEST`: one instance per run). It stamps every event with
 * the run's ids and the next `seq`, and goes silent after the terminal event, so an agent that
 * ignores its abort signal can never emit past the end of its run.
 */
@Injectable({ scope: Scope.REQUEST })
export class WebSocketNotifier implements AgentNotifier {
  private seq = 0;
  private step = 0;
  private closed = false;
  private readonly emitter: UserEmitter;

  constructor(
    @Inject(REQUEST) private readonly context: UserExecutionContext,
    emitters: UserEmitterFactory,
  ) {
    this.emitter = emitters.create(context.userId);
  }

  /** True once the terminal event was sent; later events are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Seq of the last event sent. */
  get lastSeq(): number {
    return this.seq;
  }

  sendAgentStarted(input: unknown): void {
    this.send('agent_started', { input });
  }

  sendAgentThinking(thought: string, step = this.step + 1): void {
    this.step = step;
    this.send('agent_thinking', { thought, step });
  }

  sendToolExecuting(toolCallId: string, tool: string, args: unknown): void {
    this.send('tool_executing', { toolCallId, tool, args });
  }

  sendToolCompleted(data: AgentEventDataMap['tool_completed']): void {
    this.send('tool_completed', data);
  }

  sendMessageDelta(messageId: string, delta: string): void {
    this.send('agent_message_delta', { messageId, delta });
  }

  /** The run asks its user (`interrupt_requested`); resolves once stored and published, `false` after the run's end. */
  sendInterruptRequested(data: AgentEventDataMap['interrupt_requested']): Promise<boolean> {
    return this.sendStored('interrupt_requested', data);
  }

  /** The run's question was answered or expired (`interrupt_resolved`); resolves once stored and published. */
  sendInterruptResolved(data: AgentEventDataMap['interrupt_resolved']): Promise<boolean> {
    return this.sendStored('interrupt_resolved', data);
  }

  /** Ends the run as completed. Prefer `RequestScopedOrchestrator.completeExecution`, which also stops timers. */
  sendAgentCompleted(result: unknown, durationMs: number, extra?: Record<string, unknown>): Promise<boolean> {
    return this.sendTerminal('agent_completed', { ...extra, result, durationMs });
  }

  sendAgentError(code: AgentErrorCode, message: string): Promise<boolean> {
    return this.sendTerminal('agent_error', { code, message });
  }

  sendAgentCancelled(reason: string): Promise<boolean> {
    return this.sendTerminal('agent_cancelled', { reason });
  }

  thinking(thought: string): void {
    this.sendAgentThinking(String(thought));
  }

  toolExecuting(tool: string, args: unknown, toolCallId: string = randomUUID()): string {
    this.sendToolExecuting(toolCallId, tool, args);
    return toolCallId;
  }

  toolCompleted(toolCallId: string, tool: string, outcome: { result?: unknown; error?: string }, durationMs: number): void {
    const data: AgentEventDataMap['tool_completed'] = { toolCallId, tool, durationMs };
    if (outcome.error !== undefined) data.error = outcome.error;
    else data.result = outcome.result;
    this.sendToolCompleted(data);
  }

  messageDelta(delta: string, messageId: string = randomUUID()): string {
    this.sendMessageDelta(messageId, String(delta));
    return messageId;
  }

  private envelope<T extends AgentEventType>(type: T, data: AgentEventDataMap[T]): AgentEventEnvelope<T> {
    const { runId, threadId, agent } = this.context;
    return { runId, threadId, seq: ++this.seq, type, agent, ts: new Date().toISOString(), data };
  }

  private send<T extends AgentEventType>(type: T, data: AgentEventDataMap[T]): void {
    if (this.closed) return;
    this.emitter.emit(this.envelope(type, data));
  }

  private async sendStored<T extends AgentEventType>(type: T, data: AgentEventDataMap[T]): Promise<boolean> {
    if (this.closed) return false;
    // A failing store does not stop the run: the event is out, and the writer keeps it and retries.
    await this.emitter.emitStored(this.envelope(type, data)).catch(() => undefined);
    return true;
  }

  /** Sends the run's one terminal event; resolves `false` (and sends nothing) if the run already ended. */
  private async sendTerminal<T extends TerminalEventType>(type: T, data: AgentEventDataMap[T]): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await this.emitter.emitTerminal(this.envelope(type, data));
    return true;
  }
}
