import { Inject, Injectable, Logger } from '@nestjs/common';
import { AgentRegistry } from '../agents/agent.registry';
import { AgentWebSocketBridge } from '../bridge/agent-websocket.bridge';
import { PipelineError } from '../errors/pipeline.error';
import type { AgentEventEnvelope } from '../events/agent-event.types';
import type { AgentInfo } from '../events/socket-protocol.types';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import { newRunIdentity } from '../execution/run-identity';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from '../store/event-write.buffer';
import type { ListRunsQuery, RunRecord, RunStore } from '../store/run-store.interface';
import { AgentInputValidator } from './agent-input.validator';
import { NODE_ID } from './node-id.token';
import { RunAdmission } from './run-admission.service';
import { RunCommandBus } from './run-command.bus';
import { RunLifecycleHooks } from './run-lifecycle.hooks';
import { RunRegistry } from './run.registry';

/** What a caller asks to run. */
export interface StartRunRequest {
  agent: string;
  input?: unknown;
  threadId?: string;
}

/** A started run. */
export interface StartedRun {
  runId: string;
  threadId: string;
  /** Settles when the run's terminal event is stored and published. */
  done: Promise<RunEnding>;
}

/** `Retry-After` of a start refused during shutdown: a restarted or other node answers by then. */
const SHUTDOWN_RETRY_AFTER_SECONDS = 1;

/** The reason recorded when a user cancels a run. */
export const USER_CANCEL_REASON = 'user';

/**
 * The one entry point of the gateway and the HTTP controllers: starts, cancels, replays and
 * reads runs. It coordinates; admission, validation, execution and storage belong to their own classes.
 */
@Injectable()
export class AgentService {
  private readonly logger = new Logger(AgentService.name);
  private accepting = true;

  constructor(
    private readonly agents: AgentRegistry,
    private readonly bridge: AgentWebSocketBridge,
    private readonly registry: RunRegistry,
    private readonly admission: RunAdmission,
    private readonly inputs: AgentInputValidator,
    private readonly writer: EventWriteBuffer,
    private readonly commands: RunCommandBus,
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly lifecycle: RunLifecycleHooks,
  ) {}

  listAgents(): AgentInfo[] {
    return this.agents.list();
  }

  /**
   * Starts a run for `userId`. Resolves once the run is registered and stored, before its first
   * event is emitted (so an ack can reach the caller before `agent_started`).
   */
  async start(userId: string, request: StartRunRequest): Promise<StartedRun> {
    if (!this.accepting) {
      throw new PipelineError(
        'UNAVAILABLE',
        'This server is shutting down and takes no new runs. Retry in a moment or on another node.',
        undefined,
        SHUTDOWN_RETRY_AFTER_SECONDS,
      );
    }
    const agent = this.agents.require(request.agent);
    this.admission.checkInputSize(request.input);
    const input = this.inputs.validate(agent, request.input);
    this.admission.checkStoreBacklog();
    this.admission.checkConcurrency(userId);
    const { runId, threadId } = newRunIdentity(request.threadId);
    // Registered before the first await: concurrent starts see this slot as taken.
    this.registry.add({ runId, userId, agent: request.agent, threadId });
    try {
      await this.admission.consumeRate(userId);
      const { orchestrator, agent: handler } = await this.bridge.createExecution(userId, request.agent, {
        runId,
        threadId,
        input,
      });
      const now = new Date();
      // Stored with the next group commit (shared with other starts and endings of this turn),
      // before any of its events: a disk round trip per start would cost more than the run.
      this.writer.appendRun({
        runId,
        threadId,
        userId,
        agent: request.agent,
        input,
        createdAt: now,
        nodeId: this.nodeId,
        leaseUntil: new Date(now.getTime() + this.options.runLeaseMs),
      });
      // Alone, this node answers every read of its runs and flushes before reading, so the row can
      // ride along with the run's first batch. Shared, other nodes count and read it: store it now.
      if (this.admission.countsAcrossNodes) await this.writer.flushSoon();
      await this.admission.confirmSharedSlot(userId, runId);
      const active = this.registry.get(runId);
      if (active) active.orchestrator = orchestrator;
      const done = orchestrator.done;
      const info = { runId, userId, agent: request.agent, threadId };
      void done.then((ending) => {
        this.registry.remove(runId);
        this.lifecycle.ended(info, ending);
      });
      this.lifecycle.started(info);
      // Next macrotask: the caller's ack is written to the socket before agent_started.
      setImmediate(() => void orchestrator.execute(handler));
      return { runId, threadId, done };
    } catch (err) {
      this.registry.remove(runId);
      this.writer.withdrawRun(runId);
      if (!(err instanceof PipelineError)) {
        this.logger.error({ msg: `Run start failed: ${(err as Error).stack}`, runId, userId, agent: request.agent });
      }
      throw err;
    }
  }

  /**
   * Cancels one of the user's runs; resolves once `agent_cancelled` is stored and published.
   * `RUN_NOT_FOUND` for unknown runs and other users' runs alike; `RUN_FINISHED` for ended runs.
   */
  async cancel(userId: string, runId: string, reason = USER_CANCEL_REASON): Promise<{ runId: string; status: 'cancelled' }> {
    const active = this.registry.get(runId);
    if (active && active.userId === userId && active.orchestrator) {
      if (await active.orchestrator.cancel(reason)) return { runId, status: 'cancelled' };
      throw this.finished(runId);
    }
    const run = await this.getRun(userId, runId);
    if (run.status !== 'running') throw this.finished(runId);
    const remote = await this.commands.cancelElsewhere(runId, reason);
    if (remote === 'cancelled') return { runId, status: 'cancelled' };
    if (remote === 'finished') throw this.finished(runId);
    // Still being created on this node: it has no orchestrator yet. Anything else is an orphan
    // that lease recovery will close; to the caller it is not cancellable.
    throw new PipelineError('RUN_FINISHED', `Run '${runId}' cannot be cancelled: it is not executing on any node.`);
  }

  /** A run of the user's; `RUN_NOT_FOUND` when unknown or someone else's. */
  async getRun(userId: string, runId: string): Promise<RunRecord> {
    if (this.writer.hasPendingRuns) await this.writer.flush();
    const run = typeof runId === 'string' && runId.length <= 64 ? await this.store.getRun(runId) : undefined;
    if (!run || run.userId !== userId) throw PipelineError.runNotFound(String(runId));
    return run;
  }

  async listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    if (this.writer.hasPendingRuns) await this.writer.flush();
    return this.store.listRuns(userId, query);
  }

  /**
   * A run's stored events after `afterSeq` (at most `limit` of them, for callers that page), with
   * the run as it stands once they are read. Events still buffered are written first, so a running
   * run's replay misses nothing emitted so far.
   */
  async replay(userId: string, runId: string, afterSeq = 0, limit?: number): Promise<{ run: RunRecord; events: AgentEventEnvelope[] }> {
    await this.writer.flush();
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
