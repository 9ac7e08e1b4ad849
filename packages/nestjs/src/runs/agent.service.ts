import { Injectable } from '@nestjs/common';
import { AgentRegistry } from '../agents/agent.registry';
import type {
  AgentEventEnvelope,
  InterruptRequestedData,
  InterruptResolution,
  MultitaskPolicy,
  AgentInfo,
  InterruptAnswer,
  RunStatus,
  StartedRunStatus,
} from '@agent-pipeline/protocol';
import { InterruptAnswerRouter } from '../interrupts/interrupt-answer.router';
import { sanitizeJson } from '../validation/json-payload';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import type { Page } from '../store/list-cursor';
import type { ListRunsQuery, RunRecord } from '../store/run-store.interface';
import type { QueuePlace } from '../threads/thread-policy.service';
import { RunAdmission } from './run-admission.service';
import { RunCanceller } from './run.canceller';
import { RunReader } from './run.reader';
import { RunRegistry } from './run.registry';
import { RunStarter } from './run.starter';

/** What a caller asks to run. */
export interface StartRunRequest {
  agent: string;
  input?: unknown;
  threadId?: string;
  /** What to do when the thread has a run in flight; `THREAD_MULTITASK` when absent. */
  multitask?: MultitaskPolicy;
  /**
   * Names this start for the user (1–255 printable ASCII characters): the same request with the
   * same key within `IDEMPOTENCY_TTL_MS` starts nothing and answers with this run (`replayed`).
   */
  idempotencyKey?: string;
  /**
   * The caller's W3C trace context (`traceparent` header or `run:start` field): with tracing on,
   * the run's spans continue that trace (else the span active here, else a new trace).
   */
  traceparent?: string;
}

/** A started (or queued) run. */
export interface StartedRun {
  runId: string;
  threadId: string;
  /**
   * `queued` when it waits for the runs before it on its thread, else `running`; a replayed
   * start tells the run's status now, which may be any.
   */
  status: StartedRunStatus | RunStatus;
  /** Set when the idempotency key named an existing run: nothing was started. */
  replayed?: true;
  /** Settles when the run's terminal event is stored and published, wherever it executes. */
  readonly done: Promise<RunEnding>;
}

/** An answered interrupt. */
export interface ResumedRun {
  runId: string;
  interruptId: string;
  resolution: InterruptResolution;
}

/** A run as {@link AgentService.describeRun} tells it. */
export type DescribedRun = RunRecord & Partial<QueuePlace> & { interrupt?: InterruptRequestedData };

/** The reason recorded when a user cancels a run. */
export const USER_CANCEL_REASON = 'user';

/**
 * The one entry point of the gateway, the HTTP controllers and the app's own code: starts, cancels, replays and
 * reads runs. It coordinates; admission, validation, execution and storage belong to their own classes.
 */
@Injectable()
export class AgentService {
  constructor(
    private readonly agents: AgentRegistry,
    private readonly starter: RunStarter,
    private readonly canceller: RunCanceller,
    private readonly reader: RunReader,
    private readonly registry: RunRegistry,
    private readonly interrupts: InterruptAnswerRouter,
    private readonly admission: RunAdmission,
  ) {}

  listAgents(): AgentInfo[] {
    return this.agents.list();
  }

  /**
   * Starts a run for `userId`. Resolves once the run is registered and stored, before its first
   * event is emitted (so an ack can reach the caller before `agent_started`).
   */
  start(userId: string, request: StartRunRequest): Promise<StartedRun> {
    return this.starter.start(userId, request);
  }

  /**
   * Cancels one of the user's runs; resolves once `agent_cancelled` is stored and published.
   * `RUN_NOT_FOUND` for unknown runs and other users' runs alike; `RUN_FINISHED` for ended runs.
   */
  cancel(userId: string, runId: string, reason = USER_CANCEL_REASON): Promise<{ runId: string; status: 'cancelled' }> {
    return this.canceller.cancel(userId, runId, reason);
  }

  /**
   * Answers the open question (interrupt) of one of the user's runs, wherever the run executes;
   * resolves once `interrupt_resolved` is stored and published. `RUN_NOT_FOUND` for unknown runs
   * and other users' runs alike; `INTERRUPT_NOT_FOUND`, `INTERRUPT_RESOLVED` (another answer won,
   * or it expired), `VALIDATION_FAILED` (the question stays open).
   */
  async resume(userId: string, runId: string, interruptId: string, answer: InterruptAnswer): Promise<ResumedRun> {
    if (answer.response !== undefined) {
      this.admission.checkInputSize(answer.response);
      answer = { ...answer, response: sanitizeJson(answer.response, 'response') };
    }
    const active = this.registry.get(runId);
    let resolution: InterruptResolution;
    const orchestrator =
      active && active.userId === userId ? (active.orchestrator ?? (await this.registry.orchestratorSoon(runId))) : undefined;
    if (orchestrator) {
      resolution = await orchestrator.answerInterrupt(interruptId, answer);
    } else {
      resolution = await this.interrupts.answerElsewhere(await this.getRun(userId, runId), interruptId, answer);
    }
    return { runId, interruptId, resolution };
  }

  /** A run of the user's; `RUN_NOT_FOUND` when unknown or someone else's. */
  getRun(userId: string, runId: string): Promise<RunRecord> {
    return this.reader.getRun(userId, runId);
  }

  /**
   * Like {@link getRun}, with the place of a queued run on its thread (`queuePosition`,
   * `queuedBehind`) and the open question of a waiting run (`interrupt`).
   */
  describeRun(userId: string, runId: string): Promise<DescribedRun> {
    return this.reader.describeRun(userId, runId);
  }

  listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    return this.reader.listRuns(userId, query);
  }

  /**
   * A page of the user's runs, newest first. `before` is the `next` of the previous page: pages
   * are cut by `(createdAt, runId)`, so runs started while a client pages never shift it (no run
   * is skipped or served twice). `VALIDATION_FAILED` for a `before` that no page gave out.
   */
  pageRuns(userId: string, query: Omit<ListRunsQuery, 'before'> & { before?: string }): Promise<Page<RunRecord>> {
    return this.reader.pageRuns(userId, query);
  }

  /**
   * A run's stored events after `afterSeq` (at most `limit` of them, for callers that page), with
   * the run as it stands once they are read. Events still buffered are written first, so a running
   * run's replay misses nothing emitted so far.
   */
  replay(userId: string, runId: string, afterSeq = 0, limit?: number): Promise<{ run: RunRecord; events: AgentEventEnvelope[] }> {
    return this.reader.replay(userId, runId, afterSeq, limit);
  }

  /** Stops taking new runs (graceful shutdown). */
  stopAccepting(): void {
    this.starter.stopAccepting();
  }

  get isAccepting(): boolean {
    return this.starter.isAccepting;
  }
}
