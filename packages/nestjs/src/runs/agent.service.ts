import { Inject, Injectable, Logger } from '@nestjs/common';
import { AgentRegistry, type RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import {
  isInFlightStatus,
  type AgentEventEnvelope,
  type InterruptRequestedData,
  type InterruptResolution,
  type MultitaskPolicy,
  type AgentInfo,
  type InterruptAnswer,
  type RunStatus,
  type StartedRunStatus,
} from '@agent-pipeline/protocol';
import { InterruptAnswerRouter } from '../interrupts/interrupt-answer.router';
import { sanitizeJson } from '../validation/json-payload';
import type { RequestScopedOrchestrator, RunEnding } from '../execution/request-scoped.orchestrator';
import { newRunIdentity } from '../execution/run-identity';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from '../store/event-write.buffer';
import { decodeCursor, pageOf, type Page } from '../store/list-cursor';
import type { IdempotencyClaim, ListRunsQuery, NewRun, RunRecord, RunStore } from '../store/run-store.interface';
import { RunEndWaiter } from '../threads/run-end.waiter';
import { ThreadPolicy, type QueuePlace } from '../threads/thread-policy.service';
import { RunTracer } from '../observability/tracing/run-tracer';
import { RunBudget } from '../usage/run-budget.service';
import { AgentInputValidator } from './agent-input.validator';
import { IdempotencyKeyTaken } from './idempotency/idempotency-key.taken';
import { checkIdempotencyKey } from './idempotency/idempotency-key.validation';
import { IdempotentStarts } from './idempotency/idempotent-starts.service';
import { NODE_ID } from './node-id.token';
import { RunAdmission } from './run-admission.service';
import { RunCommandBus } from './run-command.bus';
import { RunLauncher } from './run.launcher';
import { RunRegistry } from './run.registry';
import { EndedRunAnnouncer } from './ended-run.announcer';

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

/** `Retry-After` of a start refused during shutdown: a restarted or other node answers by then. */
const SHUTDOWN_RETRY_AFTER_SECONDS = 1;

/** The reason recorded when a user cancels a run. */
export const USER_CANCEL_REASON = 'user';

/** The longest user id (as tokens carry them). */
const USER_ID_MAX_CHARS = 128;

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `${value.length} characters` : value === null ? 'null' : typeof value;
}

/**
 * The one entry point of the gateway, the HTTP controllers and the app's own code: starts, cancels, replays and
 * reads runs. It coordinates; admission, validation, execution and storage belong to their own classes.
 */
@Injectable()
export class AgentService {
  private readonly logger = new Logger(AgentService.name);
  private accepting = true;

  constructor(
    private readonly agents: AgentRegistry,
    private readonly launcher: RunLauncher,
    private readonly registry: RunRegistry,
    private readonly admission: RunAdmission,
    private readonly inputs: AgentInputValidator,
    private readonly writer: EventWriteBuffer,
    private readonly commands: RunCommandBus,
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly threads: ThreadPolicy,
    private readonly endings: RunEndWaiter,
    private readonly interrupts: InterruptAnswerRouter,
    private readonly idempotency: IdempotentStarts,
    private readonly announcer: EndedRunAnnouncer,
    private readonly tracer: RunTracer,
    private readonly budget: RunBudget,
  ) {}

  listAgents(): AgentInfo[] {
    return this.agents.list();
  }

  /**
   * Starts a run for `userId`. Resolves once the run is registered and stored, before its first
   * event is emitted (so an ack can reach the caller before `agent_started`).
   */
  async start(userId: string, request: StartRunRequest): Promise<StartedRun> {
    // Callers from the app's own code pass what they have (a header, a job's field): a run with no
    // owner could be seen by nobody and could not be stored.
    if (typeof userId !== 'string' || userId.length < 1 || userId.length > USER_ID_MAX_CHARS) {
      throw new PipelineError(
        'VALIDATION_FAILED',
        `A run needs the id of its user: a string of 1–${USER_ID_MAX_CHARS} characters (got ${describeValue(userId)}).`,
      );
    }
    if (!this.accepting) {
      throw new PipelineError(
        'UNAVAILABLE',
        'This server is shutting down and takes no new runs. Retry in a moment or on another node.',
        undefined,
        SHUTDOWN_RETRY_AFTER_SECONDS,
      );
    }
    checkIdempotencyKey(request.idempotencyKey);
    const agent = this.agents.require(request.agent);
    // One walk of the input: a clean copy (depth-limited, so measuring it is safe), then its size
    // and the agent's input class.
    const clean = this.inputs.sanitize(request.input);
    this.admission.checkInputSize(clean);
    const input = this.inputs.validate(agent, clean);
    const key = request.idempotencyKey;
    // A replay is answered before any limit: it starts nothing.
    if (key !== undefined) return this.idempotency.start(userId, key, request, (claim) => this.begin(userId, request, input, agent, claim));
    return this.begin(userId, request, input, agent);
  }

  /** A start that passed validation: admitted by the limits (and its thread's policy), stored, launched. */
  private async begin(
    userId: string,
    request: StartRunRequest,
    input: unknown,
    agent: RegisteredAgent,
    claim?: IdempotencyClaim,
  ): Promise<StartedRun> {
    const durable = agent.durable;
    this.admission.checkStoreBacklog();
    const spent = this.budget.check(userId, agent);
    if (spent) await spent;
    const traceparent = this.tracer.capture(request.traceparent);
    // A named thread may have runs in flight: its multitask policy decides. A new thread cannot.
    if (request.threadId !== undefined) return this.startOnThread(userId, request, input, { durable, traceparent, claim });
    this.admission.checkConcurrency(userId);
    const { runId, threadId } = newRunIdentity(request.threadId);
    // Registered before the first await: concurrent starts see this slot as taken.
    this.registry.add({ runId, userId, agent: request.agent, threadId });
    try {
      await this.admission.consumeRate(userId);
      const run = { runId, userId, agent: request.agent, threadId, input, traceparent };
      const execution = await this.launcher.prepare(run);
      const now = new Date();
      const row: NewRun = {
        runId,
        threadId,
        userId,
        agent: request.agent,
        input,
        createdAt: now,
        nodeId: this.nodeId,
        leaseUntil: new Date(now.getTime() + this.options.runLeaseMs),
        durable,
        traceparent,
      };
      if (claim) {
        // A keyed run is stored at once, on its own: its key must be taken (or found taken) now.
        const holder = await this.store.createIdempotentRun({ ...row, idempotency: claim }, this.idempotency.freshAfter());
        if (holder) throw new IdempotencyKeyTaken(holder);
      } else {
        // Stored with the next group commit (shared with other starts and endings of this turn),
        // before any of its events: a disk round trip per start would cost more than the run.
        this.writer.appendRun(row);
        // Alone, this node answers every read of its runs and flushes before reading, so the row can
        // ride along with the run's first batch. Shared, other nodes count and read it: store it now.
        if (this.admission.countsAcrossNodes) await this.writer.flushSoon();
      }
      await this.admission.confirmSharedSlot(userId, runId);
      return { runId, threadId, status: 'running', done: this.launcher.launch(run, execution) };
    } catch (err) {
      this.registry.remove(runId);
      this.writer.withdrawRun(runId);
      if (!(err instanceof PipelineError) && !(err instanceof IdempotencyKeyTaken)) {
        this.logger.error({ msg: `Run start failed: ${(err as Error).stack}`, runId, userId, agent: request.agent });
      }
      throw err;
    }
  }

  /** A start on a thread the caller named: runs now, waits in the thread's queue, or is refused. */
  private async startOnThread(
    userId: string,
    request: StartRunRequest,
    input: unknown,
    { durable, traceparent, claim }: { durable: boolean; traceparent?: string; claim?: IdempotencyClaim },
  ): Promise<StartedRun> {
    const { runId, threadId } = newRunIdentity(request.threadId);
    const run = { runId, userId, agent: request.agent, threadId, input, durable, traceparent, idempotency: claim };
    await this.admission.consumeRate(userId);
    const admitted = await this.threads.admit(run, request.multitask ?? this.options.threadMultitask);
    if (admitted === 'start') {
      try {
        return { runId, threadId, status: 'running', done: this.launcher.launch(run, await this.launcher.prepare(run)) };
      } catch (err) {
        this.registry.remove(runId);
        // Stored as running, never started: it goes, so it holds neither its thread nor a slot.
        await this.store.deleteRun(runId).catch(() => undefined);
        this.logger.error({ msg: `Run start failed: ${(err as Error).stack}`, runId, userId, agent: request.agent });
        throw err;
      }
    }
    const local = this.registry.get(runId)?.orchestrator;
    let done: Promise<RunEnding> | undefined = local?.done;
    const waiter = this.endings;
    return {
      runId,
      threadId,
      status: admitted === 'queued' ? 'queued' : 'running',
      // Made on first use: a caller that never waits (the socket gateway) leaves nothing behind.
      get done() {
        return (done ??= waiter.wait(runId));
      },
    };
  }

  /**
   * Cancels one of the user's runs; resolves once `agent_cancelled` is stored and published.
   * `RUN_NOT_FOUND` for unknown runs and other users' runs alike; `RUN_FINISHED` for ended runs.
   */
  async cancel(userId: string, runId: string, reason = USER_CANCEL_REASON): Promise<{ runId: string; status: 'cancelled' }> {
    const active = this.registry.get(runId);
    if (active && active.userId === userId) {
      // Being created (or resumed) on this node: cancel it where it is about to execute.
      const orchestrator = active.orchestrator ?? (await this.registry.orchestratorSoon(runId));
      if (orchestrator) return this.cancelHere(orchestrator, runId, reason);
    }
    const run = await this.getRun(userId, runId);
    if (run.status === 'queued') {
      if (await this.threads.cancelQueued(runId, reason)) return { runId, status: 'cancelled' };
      // It started a moment ago, maybe on this node: cancel it where it executes.
      const started = await this.registry.orchestratorSoon(runId);
      if (started) return this.cancelHere(started, runId, reason);
    } else if (!isInFlightStatus(run.status)) {
      throw this.finished(runId);
    }
    const remote = await this.commands.cancelElsewhere(runId, reason);
    if (remote === 'cancelled') return { runId, status: 'cancelled' };
    if (remote === 'finished') throw this.finished(runId);
    // No node executes it. A durable run waits for one (its node died; a lease or a start will
    // resume it): it ends here, in the store, and is not resumed.
    if (this.agents.get(run.agent)?.durable && run.nodeId !== this.nodeId) {
      const ended = await this.store.endRun(runId, run.nodeId, { type: 'agent_cancelled', data: { reason } });
      if (ended) {
        this.announcer.announce(ended);
        return { runId, status: 'cancelled' };
      }
      // Taken over meanwhile: the node that took it cancels it.
      const again = await this.commands.cancelElsewhere(runId, reason);
      if (again === 'cancelled') return { runId, status: 'cancelled' };
      const here = await this.registry.orchestratorSoon(runId);
      if (here) return this.cancelHere(here, runId, reason);
    }
    // Still being created on this node: it has no orchestrator yet. Anything else is an orphan
    // that lease recovery will close; to the caller it is not cancellable.
    throw new PipelineError('RUN_FINISHED', `Run '${runId}' cannot be cancelled: it is not executing on any node.`);
  }

  private async cancelHere(
    orchestrator: RequestScopedOrchestrator,
    runId: string,
    reason: string,
  ): Promise<{ runId: string; status: 'cancelled' }> {
    if (await orchestrator.cancel(reason)) return { runId, status: 'cancelled' };
    throw this.finished(runId);
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
  async getRun(userId: string, runId: string): Promise<RunRecord> {
    const run = typeof runId === 'string' && runId.length <= 64 ? await this.store.getRun(runId) : undefined;
    if (!run || run.userId !== userId) throw PipelineError.runNotFound(String(runId));
    return run;
  }

  /**
   * Like {@link getRun}, with the place of a queued run on its thread (`queuePosition`,
   * `queuedBehind`) and the open question of a waiting run (`interrupt`).
   */
  async describeRun(userId: string, runId: string): Promise<DescribedRun> {
    const run = await this.getRun(userId, runId);
    if (run.status === 'waiting') {
      const interrupt = this.registry.get(runId)?.orchestrator?.pendingInterrupt ?? (await this.interrupts.openInterrupt(run));
      return interrupt ? { ...run, interrupt } : run;
    }
    const place = await this.threads.queuePlace(run);
    return place ? { ...run, ...place } : run;
  }

  async listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    return this.store.listRuns(userId, query);
  }

  /**
   * A page of the user's runs, newest first. `before` is the `next` of the previous page: pages
   * are cut by `(createdAt, runId)`, so runs started while a client pages never shift it (no run
   * is skipped or served twice). `VALIDATION_FAILED` for a `before` that no page gave out.
   */
  async pageRuns(userId: string, query: Omit<ListRunsQuery, 'before'> & { before?: string }): Promise<Page<RunRecord>> {
    const before = query.before === undefined ? undefined : decodeCursor(query.before);
    const rows = await this.listRuns(userId, { ...query, before, limit: query.limit + 1 });
    return pageOf(rows, query.limit, (r) => ({ createdAt: r.createdAt, runId: r.runId }));
  }

  /**
   * A run's stored events after `afterSeq` (at most `limit` of them, for callers that page), with
   * the run as it stands once they are read. Events still buffered are written first, so a running
   * run's replay misses nothing emitted so far.
   */
  async replay(userId: string, runId: string, afterSeq = 0, limit?: number): Promise<{ run: RunRecord; events: AgentEventEnvelope[] }> {
    const events = await this.store.getEvents(runId, afterSeq, limit);
    // The owner check comes after the read (one query fewer) but before anything is returned.
    const run = await this.getRun(userId, runId);
    // lastSeq describes what was replayed: events stored after the read above come live, not here.
    const lastSeq = events.length > 0 ? events[events.length - 1].seq : Math.min(run.lastSeq, afterSeq);
    return { run: { ...run, lastSeq }, events };
  }

  /** Stops taking new runs (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  private finished(runId: string): PipelineError {
    return new PipelineError('RUN_FINISHED', `Run '${runId}' has already ended.`);
  }
}
