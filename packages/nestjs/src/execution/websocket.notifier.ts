import { Inject, Injectable, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type {
  AgentErrorCode,
  AgentEventDataMap,
  AgentEventEnvelope,
  AgentEventType,
  AgentResumedData,
  InterruptRequestedData,
  InterruptResolvedData,
  TerminalEventType,
} from '@agent-pipeline/protocol';
import { RunJournal, type RecalledInterrupt } from '../durable/run-journal';
import { UserEmitterFactory } from '../emitter/user-emitter.factory';
import type { UserEmitter } from '../emitter/user.emitter';
import type { RunExecutionContext } from './run-execution.context';

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

/** What the notifier tells its run about a resumed attempt. */
export interface ReplayObserver {
  /** The resumed run emitted something new: `agent_resumed` is out (stored and published). */
  live(data: AgentResumedData): void;
  /** The replayed `run()` emitted an event that differs from the stored one: the run must end. */
  diverged(message: string): void;
}

/**
 * One run's event source (`Scope.REQUEST`: one instance per run). It stamps every event with
 * the run's ids and the next `seq`, and goes silent after the terminal event, so an agent that
 * ignores its abort signal can never emit past the end of its run.
 *
 * For a durable run, events are published only once they are stored. In a resumed attempt it
 * replays: events the replayed `run()` emits that are already stored are not sent (their type is
 * checked against the stored one), and the first new one is preceded by `agent_resumed`, after
 * which `seq` goes on from the last stored event.
 */
@Injectable({ scope: Scope.REQUEST })
export class WebSocketNotifier implements AgentNotifier {
  private seq = 0;
  private step = 0;
  private closed = false;
  private readonly emitter: UserEmitter;
  private readonly journal: RunJournal;
  /** True while a resumed attempt replays what is stored; false for fresh runs and once live. */
  private replaying: boolean;
  private diverged = false;
  /** The last recorded step the replay went through (named by the determinism check). */
  private replayedStep?: string;
  private resumed?: Promise<void>;
  /** @internal Set by the orchestrator of a resumed run. */
  replayObserver?: ReplayObserver;

  constructor(
    @Inject(REQUEST) private readonly context: RunExecutionContext,
    emitters: UserEmitterFactory,
  ) {
    this.emitter = emitters.create(context.userId);
    // A context made without a journal (a consumer's own test double) is a fresh run that is not durable.
    this.journal = context.journal ?? new RunJournal(false);
    this.replaying = this.journal.resume !== undefined;
  }

  /** The run's `agent_thinking` step counter. */
  get thinkingStep(): number {
    return this.step;
  }

  /** True while a resumed run has emitted nothing new yet. */
  get isReplaying(): boolean {
    return this.replaying;
  }

  /**
   * @internal A recorded step replayed: the run's seq and step counter go to where they stood
   * once it had ended, as if its events had been emitted again.
   */
  replayStep(name: string, seq: number, thinkingStep: number): void {
    if (!this.replaying) return;
    this.replayedStep = name;
    this.seq = Math.max(this.seq, seq);
    this.step = thinkingStep;
  }

  /**
   * @internal The interrupt the replay reaches next, when the earlier attempt stored one there:
   * its question (to ask again with the same id and expiry) and its answer, if it had one.
   */
  recallInterrupt(): RecalledInterrupt | undefined {
    if (!this.replaying) return undefined;
    const seq = this.nextStoredSeq();
    const requested = this.storedAt(seq);
    if (!requested || requested.type !== 'interrupt_requested') return undefined;
    const data = requested.data as InterruptRequestedData;
    const next = this.storedAt(seq + 1);
    const resolved =
      next?.type === 'interrupt_resolved' && (next.data as InterruptResolvedData).interruptId === data.interruptId
        ? (next.data as InterruptResolvedData)
        : undefined;
    return resolved ? { requested: data, resolved } : { requested: data };
  }

  /**
   * @internal Ends the replay of a resumed run (it reached its first step that was not recorded,
   * or emits something new): `agent_resumed` goes out at the seq after the last stored event,
   * and resolves once it is stored and published. Nothing for a fresh run.
   */
  goLive(): Promise<void> {
    if (this.resumed) return this.resumed;
    if (!this.replaying || this.closed) return Promise.resolve();
    const resume = this.journal.resume!;
    this.replaying = false;
    this.seq = this.journal.afterSeq;
    const data: AgentResumedData = { attempt: resume.attempt, afterSeq: this.journal.afterSeq, reason: resume.reason };
    this.resumed = this.emitter.emitDurable(this.envelope('agent_resumed', data));
    this.replayObserver?.live(data);
    return this.resumed;
  }

  /** True once the terminal event was sent; later events are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Sends nothing more, without a terminal event (a durable run suspended at shutdown). */
  silence(): void {
    this.closed = true;
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
    if (this.closed || this.replayed(type)) return;
    if (this.journal.durable) void this.emitter.emitDurable(this.envelope(type, data));
    else this.emitter.emit(this.envelope(type, data));
  }

  private async sendStored<T extends AgentEventType>(type: T, data: AgentEventDataMap[T]): Promise<boolean> {
    if (this.closed) return false;
    if (this.replayed(type)) return true;
    if (this.journal.durable) {
      await this.emitter.emitDurable(this.envelope(type, data));
      return true;
    }
    // A failing store does not stop the run: the event is out, and the writer keeps it and retries.
    await this.emitter.emitStored(this.envelope(type, data)).catch(() => undefined);
    return true;
  }

  /** Sends the run's one terminal event; resolves `false` (and sends nothing) if the run already ended. */
  private async sendTerminal<T extends TerminalEventType>(type: T, data: AgentEventDataMap[T]): Promise<boolean> {
    if (this.closed) return false;
    // A terminal event is always new: a resumed run announces itself first.
    if (this.replaying) void this.goLive();
    this.closed = true;
    if (this.journal.durable) await this.emitter.emitDurable(this.envelope(type, data));
    else await this.emitter.emitTerminal(this.envelope(type, data));
    return true;
  }

  /**
   * True when the event is one the replay of a resumed run emits again (already stored: it is not
   * sent) or follows a divergence (dropped: the run is ending). The first event past what is
   * stored ends the replay (see {@link goLive}).
   */
  private replayed(type: AgentEventType): boolean {
    if (this.diverged) return true;
    if (!this.replaying) return false;
    const seq = this.nextStoredSeq();
    const stored = this.storedAt(seq);
    if (!stored) {
      void this.goLive();
      return false;
    }
    if (stored.type !== type) {
      this.diverged = true;
      const where = this.replayedStep ? `after step '${this.replayedStep}'` : 'before its first step';
      this.replayObserver?.diverged(
        `The resumed run diverged from its journal ${where}: it emitted ${type} at seq ${seq}, where the stored run has ${stored.type}. ` +
          'A durable agent must emit the same events until its first unrecorded step: put anything non-deterministic in context.step().',
      );
      return true;
    }
    this.seq = seq;
    return true;
  }

  /** The seq the replay compares its next event with; `agent_resumed` of earlier attempts is skipped (no code emits it). */
  private nextStoredSeq(): number {
    let seq = this.seq + 1;
    while (this.storedAt(seq)?.type === 'agent_resumed') seq++;
    return seq;
  }

  private storedAt(seq: number): AgentEventEnvelope | undefined {
    return seq <= this.journal.afterSeq ? this.journal.storedAt(seq) : undefined;
  }
}
