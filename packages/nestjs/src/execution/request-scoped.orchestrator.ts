import { Inject, Injectable, Logger, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { AgentResult } from '../agents/agent-result';
import { PipelineError } from '../errors/pipeline.error';
import type { AgentHandler, AgentRunContext } from '../agents/agent.interface';
import type { AgentResumedData, InterruptResolution, InterruptRequestedData, InterruptAnswer } from '@agent-pipeline/protocol';
import { RunSteps } from '../durable/run-steps';
import type { EventWriteBuffer } from '../store/event-write.buffer';
import { RunInterruptGate } from '../interrupts/run-interrupt.gate';
import { GEN_AI, PIPELINE_ATTRIBUTES } from '../observability/tracing/gen-ai.attributes';
import type { RunObservation, RunTraceIds } from '../observability/tracing/run-observation';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { RunExecutionContext } from './run-execution.context';
import type { RunOutcome } from './run-outcome';
import type { UserExecutionContext } from './user-execution.context';
import { RunServices } from './run-services';
import { WebSocketNotifier } from './websocket.notifier';

/** The outcome of a finished run as its orchestrator saw it. */
export interface RunEnding {
  outcome: RunOutcome;
  durationMs: number;
  /**
   * The run did not end: its node stopped it to shut down, and it goes on at the next start or on
   * another node (a durable run). It has no terminal event; `outcome` is what stopped it here.
   */
  suspended?: boolean;
}

/**
 * Drives one run (`Scope.REQUEST`: one instance per run, resolved by the bridge): starts the
 * agent, enforces the run timeout, and ends the run exactly once — completed, failed, timed out
 * or cancelled, whichever comes first.
 */
@Injectable({ scope: Scope.REQUEST })
export class RequestScopedOrchestrator {
  private readonly logger = new Logger(RequestScopedOrchestrator.name);
  private ending?: Promise<RunEnding>;
  private endingOutcome?: RunOutcome;
  private timer?: NodeJS.Timeout;
  /** Time left of `RUN_TIMEOUT_MS`, kept while the clock is stopped (the run waits for its user). */
  private timeLeftMs?: number;
  private deadline = 0;
  private interrupts?: RunInterruptGate;
  private readonly askedListeners = new Set<(data: InterruptRequestedData) => void>();
  private resolveDone!: (ending: RunEnding) => void;
  /** Called once a resumed run emits something new (its `agent_resumed` is out). */
  onResumed?: (data: AgentResumedData) => void;
  /** The run's span (when tracing is on) and the tokens of its model calls. */
  private readonly observation: RunObservation;
  /** Settles once the terminal event is stored and published. */
  readonly done: Promise<RunEnding> = new Promise((resolve) => (this.resolveDone = resolve));

  private readonly options: ResolvedPipelineOptions;
  private readonly writer: EventWriteBuffer;

  constructor(
    @Inject(REQUEST) private readonly context: RunExecutionContext,
    private readonly notifier: WebSocketNotifier,
    services: RunServices,
  ) {
    this.options = services.options;
    this.writer = services.writer;
    this.observation = services.tracer.observe(context);
  }

  /** The run's context and the notifier that reports its events. */
  createExecutionContext(): { context: UserExecutionContext; notifier: WebSocketNotifier } {
    return { context: this.context, notifier: this.notifier };
  }

  /** Opens the run's span (once; `execute` does if nobody did); its ids, undefined when tracing is off. */
  beginTrace(): RunTraceIds | undefined {
    return this.observation.begin();
  }

  /** True once the run has an outcome (its terminal event may still be on its way). */
  get isEnded(): boolean {
    return this.endingOutcome !== undefined;
  }

  /**
   * Runs the agent to its end: emits `agent_started`, then whatever the agent reports, then one
   * terminal event. Never rejects; resolves with how the run ended.
   */
  execute(agent: AgentHandler): Promise<RunEnding> {
    // Cancelled between its start and its execution (a later run on the thread superseded it):
    // its terminal event is out; the agent never runs and no timer is left behind.
    if (this.ending) return this.done;
    const { context, notifier } = this.createExecutionContext();
    this.observation.begin();
    const journal = this.context.journal;
    if (journal.resume) {
      notifier.replayObserver = {
        live: (data) => {
          this.observation.event('agent_resumed', {
            [PIPELINE_ATTRIBUTES.resumeAttempt]: data.attempt,
            [PIPELINE_ATTRIBUTES.resumeAfterSeq]: data.afterSeq,
            [PIPELINE_ATTRIBUTES.resumeReason]: data.reason,
          });
          this.onResumed?.(data);
        },
        diverged: (message) => void this.completeExecution(this.context, { kind: 'error', code: 'AGENT_FAILED', message }),
      };
    }
    // Replayed on resume: already stored, so not sent again.
    notifier.sendAgentStarted(context.input);
    // RUN_TIMEOUT_MS counts the running time of every attempt.
    this.startClock(Math.max(1, this.options.runTimeoutMs - (journal.resume ? journal.usedRunningMs() : 0)));
    const steps = new RunSteps(context.runId, journal, notifier, this.writer, context);
    const runContext: AgentRunContext = {
      input: context.input,
      // Read through: the signal is made only for an agent that looks at it.
      get signal() {
        return context.signal;
      },
      userId: context.userId,
      runId: context.runId,
      threadId: context.threadId,
      notifier,
      interrupt: (request) => this.interruptGate().ask(request),
      step: (name, fn, options) => steps.run(name, fn, options),
      telemetry: this.observation,
    };
    void this.observation.within(() => this.invoke(agent, runContext));
    return this.done;
  }

  /** The question the run waits on (`interrupt_requested` data), if any. */
  get pendingInterrupt(): InterruptRequestedData | undefined {
    return this.ending ? undefined : this.interrupts?.pending;
  }

  /**
   * Resolves with the question the run asks next (or asks now), or undefined once the run has
   * ended or after `timeoutMs`: an answer that resumes a run must wait for its replay to ask again.
   */
  whenAsking(timeoutMs: number): Promise<InterruptRequestedData | undefined> {
    const open = this.pendingInterrupt;
    if (open || this.ending) return Promise.resolve(open);
    return new Promise((resolve) => {
      const finish = (data?: InterruptRequestedData) => {
        clearTimeout(timer);
        this.askedListeners.delete(finish);
        resolve(data);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.askedListeners.add(finish);
      void this.done.then(() => finish(undefined));
    });
  }

  /**
   * Stops a durable run on this node without ending it (shutdown): its agent is aborted, nothing
   * more of it is sent, and what it emitted is stored; it goes on at the next start or on
   * another node. Resolves once its events are stored.
   */
  async suspend(reason: string): Promise<void> {
    if (this.ending) return;
    const outcome: RunOutcome = { kind: 'cancelled', reason };
    this.endingOutcome = outcome;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.notifier.silence();
    this.interrupts?.end();
    this.context.abort(reason);
    const ending: RunEnding = { outcome, durationMs: Date.now() - this.context.startedAt, suspended: true };
    this.ending = this.writer.flush().then(
      () => ending,
      () => ending,
    );
    void this.ending.then(this.resolveDone);
    await this.ending;
  }

  /**
   * Answers the run's open question; resolves with its resolution once `interrupt_resolved` is
   * out. Throws `INTERRUPT_NOT_FOUND`, `INTERRUPT_RESOLVED` or `VALIDATION_FAILED`.
   */
  answerInterrupt(interruptId: string, answer: InterruptAnswer): Promise<InterruptResolution> {
    if (!this.interrupts) {
      return Promise.reject(
        new PipelineError('INTERRUPT_NOT_FOUND', `Run '${this.context.runId}' has no open interrupt '${interruptId}'.`),
      );
    }
    return this.interrupts.answer(interruptId, answer);
  }

  /**
   * Ends the run with `outcome` unless it has already ended; only the first call emits a terminal
   * event. Resolves once the run's terminal event (whichever it was) is stored and published.
   */
  completeExecution(context: UserExecutionContext, outcome: RunOutcome): Promise<RunEnding> {
    if (this.ending) return this.ending;
    if (context.runId !== this.context.runId) {
      throw new Error(`completeExecution got run ${context.runId} but this orchestrator drives run ${this.context.runId}.`);
    }
    this.endingOutcome = outcome;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.interrupts?.end();
    this.observation.end(outcome);
    // Abort first, synchronously, so that an agent waiting on the signal stops before anything else happens.
    if (outcome.kind !== 'completed') this.context.abort(outcome.kind === 'cancelled' ? outcome.reason : outcome.code);
    const durationMs = Date.now() - this.context.startedAt;
    this.ending = this.emitTerminal(outcome, durationMs).then(
      () => ({ outcome, durationMs }),
      (err: unknown) => {
        const { runId, userId } = this.context;
        this.logger.error({ msg: `Terminal event of run ${runId} not stored: ${(err as Error).message}`, runId, userId });
        return { outcome, durationMs };
      },
    );
    void this.ending.then(this.resolveDone);
    return this.ending;
  }

  /**
   * Cancels the run. Resolves `true` when this cancel ended it, `false` when it had already ended
   * another way.
   */
  async cancel(reason: string): Promise<boolean> {
    if (this.ending) {
      await this.ending;
      return false;
    }
    await this.completeExecution(this.context, { kind: 'cancelled', reason });
    return true;
  }

  /** The run's questions, made on the first one (most runs never ask). */
  private interruptGate(): RunInterruptGate {
    this.interrupts ??= new RunInterruptGate(
      {
        requested: (data) => {
          for (const listener of [...this.askedListeners]) listener(data);
          this.observation.event('interrupt_requested', {
            [PIPELINE_ATTRIBUTES.interruptId]: data.interruptId,
            [PIPELINE_ATTRIBUTES.interruptKind]: data.kind,
            ...(data.tool !== undefined && { [GEN_AI.toolName]: data.tool }),
          });
          return this.notifier.sendInterruptRequested(data);
        },
        recall: () => this.notifier.recallInterrupt(),
        resolved: (data) => {
          this.observation.event('interrupt_resolved', {
            [PIPELINE_ATTRIBUTES.interruptId]: data.interruptId,
            [PIPELINE_ATTRIBUTES.interruptResolution]: data.resolution,
          });
          return this.notifier.sendInterruptResolved(data);
        },
        paused: () => this.stopClock(),
        resumed: () => {
          if (!this.ending && this.timeLeftMs !== undefined) this.startClock(this.timeLeftMs);
        },
      },
      this.context.signal,
      this.options.interruptTimeoutMs,
    );
    // Asked after the run ended (an agent that ignored its abort): the gate refuses at once.
    if (this.ending) this.interrupts.end();
    return this.interrupts;
  }

  /** Starts (or restarts) the `RUN_TIMEOUT_MS` clock with `ms` left. */
  private startClock(ms: number): void {
    this.timeLeftMs = undefined;
    this.deadline = Date.now() + ms;
    this.timer = setTimeout(
      () =>
        void this.completeExecution(this.context, {
          kind: 'error',
          code: 'TIMEOUT',
          message: `The run took longer than RUN_TIMEOUT_MS (${this.options.runTimeoutMs} ms) and was stopped.`,
        }),
      ms,
    );
  }

  /** Stops the clock while the run waits for its user; {@link startClock} picks it up again. */
  private stopClock(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timeLeftMs = Math.max(1, this.deadline - Date.now());
  }

  private async invoke(agent: AgentHandler, runContext: AgentRunContext): Promise<void> {
    try {
      const returned = await agent.run(runContext);
      const outcome: RunOutcome =
        returned instanceof AgentResult
          ? { kind: 'completed', result: returned.result ?? null, extra: { ...returned.extra } }
          : { kind: 'completed', result: returned ?? null };
      await this.completeExecution(this.context, outcome);
    } catch (err) {
      if (this.ending) return; // cancelled or timed out: the agent's abort error is expected
      const message = err instanceof Error ? err.message : String(err);
      await this.completeExecution(this.context, { kind: 'error', code: 'AGENT_FAILED', message: message || 'Agent failed.' });
    }
  }

  private emitTerminal(outcome: RunOutcome, durationMs: number): Promise<boolean> {
    switch (outcome.kind) {
      case 'completed': {
        // A run that called a model says how many tokens it used (the pipeline's count wins over the agent's own).
        const usage = this.observation.usage;
        return this.notifier.sendAgentCompleted(outcome.result, durationMs, usage ? { ...outcome.extra, usage } : outcome.extra);
      }
      case 'error':
        return this.notifier.sendAgentError(outcome.code, outcome.message);
      case 'cancelled':
        return this.notifier.sendAgentCancelled(outcome.reason);
    }
  }
}
