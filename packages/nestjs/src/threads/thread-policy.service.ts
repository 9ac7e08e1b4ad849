import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher } from '../emitter/event-publisher';
import { RunEventBus } from '../emitter/run-event.bus';
import { userRoom } from '../emitter/user-room';
import { PipelineError } from '../errors/pipeline.error';
import { SUPERSEDED_CANCEL_REASON, type MultitaskPolicy } from '@agent-pipeline/protocol';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { NODE_ID } from '../runs/node-id.token';
import { RunAdmission } from '../runs/run-admission.service';
import { RunCommandBus } from '../runs/run-command.bus';
import { RunRegistry } from '../runs/run.registry';
import type { CancelledQueuedRun, IdempotencyClaim, NewRun, RunRecord, RunStore, ThreadRun } from '../store/run-store.interface';
import { IdempotencyKeyTaken } from '../runs/idempotency/idempotency-key.taken';
import { idempotencyFreshAfter } from '../runs/idempotency/idempotency-ttl';
import { ThreadQueueScheduler } from './thread-queue.scheduler';

/** A run asking for a place on a thread the caller named. */
export interface ThreadRunRequest {
  runId: string;
  userId: string;
  threadId: string;
  agent: string;
  input: unknown;
  /** The start's idempotency key: stored with the run, unless it already names one (which wins). */
  idempotency?: IdempotencyClaim;
  /** Its agent is durable (stored with the run, for recovery). */
  durable?: boolean;
  /** The W3C trace context the run continues, stored with it. */
  traceparent?: string;
}

/**
 * How a start on a thread was admitted. `start`: stored as running on this node with its slot
 * reserved in the registry; the caller executes it. `started`: it waited only for the runs it
 * superseded and is already executing (on this node or another). `queued`: stored, it waits.
 */
export type ThreadAdmission = 'start' | 'started' | 'queued';

/** Where a queued run stands on its thread (see `GET /runs/:runId`). */
export interface QueuePlace {
  /** 1 for the queued run that starts next on its thread, 2 for the one after it, … */
  queuePosition: number;
  /** The run just ahead of it on the thread (executing, or queued before it). */
  queuedBehind?: string;
}

/** How long a superseding start waits for a run on this node that is still being created. */
const CREATING_WAIT_MS = 2000;

/**
 * The per-thread multitask policy (DESIGN.md, "Runs and threads"). On a thread with nothing in
 * flight a start runs at once; otherwise `reject` refuses it with `THREAD_BUSY`, `enqueue` stores
 * it as `queued` behind the runs in flight (at most `MAX_QUEUED_RUNS_PER_THREAD`), and `interrupt`
 * cancels the thread's queued runs at once and its executing ones with reason `superseded`, and
 * starts once they have ended. The decision and the stored run happen in one per-user store
 * transaction, so racing starts, on one node or several, come out in one order.
 */
@Injectable()
export class ThreadPolicy {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Inject(NODE_ID) private readonly nodeId: string,
    private readonly registry: RunRegistry,
    private readonly admission: RunAdmission,
    private readonly scheduler: ThreadQueueScheduler,
    private readonly commands: RunCommandBus,
    private readonly publisher: EventPublisher,
    private readonly bus: RunEventBus,
  ) {}

  /**
   * Admits a run on its thread by `policy`. Throws `THREAD_BUSY` (reject, or the queue is full) or
   * `TOO_MANY_RUNS` (the thread is free but the user is at the limit); nothing is stored then.
   */
  async admit(request: ThreadRunRequest, policy: MultitaskPolicy): Promise<ThreadAdmission> {
    const { runId, userId, threadId, agent } = request;
    let reserved = false;
    const decision = await this.store
      .withThread(userId, threadId, async (tx) => {
        // Under the user's lock: a start with this key that got here first, on any node, wins.
        const holder =
          request.idempotency && (await tx.idempotentRun(request.idempotency.key, idempotencyFreshAfter(this.options.idempotencyTtlMs)));
        if (holder) throw new IdempotencyKeyTaken(holder);
        const inFlight = await tx.inFlight();
        const createdAt = new Date();
        const run: NewRun = {
          runId,
          userId,
          threadId,
          agent,
          input: request.input,
          createdAt,
          nodeId: this.nodeId,
          leaseUntil: new Date(createdAt.getTime() + this.options.runLeaseMs),
          idempotency: request.idempotency,
          durable: request.durable === true,
          traceparent: request.traceparent,
        };
        if (inFlight.length === 0) {
          // Starts now: the same concurrency limit as any start (local check, then the shared count).
          this.admission.checkConcurrency(userId);
          this.registry.add({ runId, userId, agent, threadId });
          reserved = true;
          if (this.admission.countsAcrossNodes) {
            const executing = await tx.countExecuting();
            if (executing >= this.options.maxConcurrentRunsPerUser) throw this.admission.tooMany(executing);
          }
          await tx.insert({ ...run, status: 'running' });
          return { kind: 'start' as const };
        }
        if (policy === 'reject') throw this.busy(threadId, inFlight);
        if (policy === 'enqueue') {
          const queued = inFlight.filter((r) => r.status === 'queued').length;
          if (queued >= this.options.maxQueuedRunsPerThread) throw this.queueFull(threadId, queued);
          await tx.insert({ ...run, status: 'queued' });
          return { kind: 'queued' as const, executing: inFlight.filter((r) => r.status !== 'queued') };
        }
        const cancelled: CancelledQueuedRun[] = [];
        for (const r of inFlight) {
          if (r.status !== 'queued') continue;
          const ended = await tx.cancelQueued(r.runId, SUPERSEDED_CANCEL_REASON);
          if (ended) cancelled.push(ended);
        }
        await tx.insert({ ...run, status: 'queued' });
        return { kind: 'interrupt' as const, executing: inFlight.filter((r) => r.status !== 'queued'), cancelled };
      })
      .catch((err: unknown) => {
        if (reserved) this.registry.remove(runId);
        throw err;
      });
    // After the commit: a run of this thread ending from now on looks at its queue.
    this.scheduler.watch(userId, threadId);
    if (decision.kind === 'start') return 'start';
    if (decision.kind === 'queued') {
      // The run ahead executes here: its end starts the queue. On another node: that node is told
      // to watch the thread, and in case the run ended before it could be told, look once now.
      // The sweep covers what slips between the two.
      if (decision.executing.length === 0 || decision.executing.some((r) => this.registry.get(r.runId))) return 'queued';
      for (const ahead of decision.executing) this.commands.watchElsewhere({ userId, threadId, runId: ahead.runId });
      return (await this.scheduler.promote(userId, threadId)) === runId ? 'started' : 'queued';
    }
    for (const ended of decision.cancelled) this.publishEnd(ended);
    await Promise.all(decision.executing.map((r) => this.supersede(r.runId)));
    // The superseded runs' ends already tried (on their nodes); once more here, in case one of
    // them had ended before it could see this run.
    await this.scheduler.promote(userId, threadId);
    if (this.registry.get(runId)) return 'started';
    const now = await this.store.getRun(runId);
    return now?.status === 'queued' ? 'queued' : 'started';
  }

  /**
   * Ends one of the user's queued runs without starting it (its one event: `agent_cancelled` at
   * seq 1). Returns false when the run was not queued any more (it has just started).
   */
  async cancelQueued(runId: string, reason: string): Promise<boolean> {
    const ended = await this.store.cancelQueued(runId, reason);
    if (!ended) return false;
    this.publishEnd(ended);
    return true;
  }

  /** Where a queued run stands on its thread; undefined for a run that is not queued. */
  async queuePlace(run: RunRecord): Promise<QueuePlace | undefined> {
    if (run.status !== 'queued') return undefined;
    const inFlight = await this.store.threadInFlight(run.userId, run.threadId);
    const index = inFlight.findIndex((r) => r.runId === run.runId);
    if (index < 0) return undefined;
    const place: QueuePlace = { queuePosition: inFlight.slice(0, index + 1).filter((r) => r.status === 'queued').length };
    if (index > 0) place.queuedBehind = inFlight[index - 1].runId;
    return place;
  }

  private publishEnd({ userId, event }: CancelledQueuedRun): void {
    this.publisher.publish(userRoom(userId), event);
    this.bus.publish(event);
  }

  /** Cancels an executing run of the thread with reason `superseded`, here or on its node. */
  private async supersede(runId: string): Promise<void> {
    // A run of this node still being created has no orchestrator yet: it gets one within moments.
    const local = await this.registry.orchestratorSoon(runId, CREATING_WAIT_MS);
    if (local) {
      await local.cancel(SUPERSEDED_CANCEL_REASON);
      return;
    }
    // Not executing here: its node cancels it; an orphan of a dead node is closed by lease recovery.
    await this.commands.cancelElsewhere(runId, SUPERSEDED_CANCEL_REASON);
  }

  private busy(threadId: string, inFlight: ThreadRun[]): PipelineError {
    return new PipelineError(
      'THREAD_BUSY',
      `Thread '${threadId}' has ${inFlight.length} run(s) in flight (run '${inFlight[0].runId}' is ${inFlight[0].status}) and the ` +
        "multitask policy is 'reject'. Wait for it to end, cancel it, or start with multitask 'enqueue' or 'interrupt'.",
      { threadId, inFlight: inFlight.map((r) => r.runId) },
    );
  }

  private queueFull(threadId: string, queued: number): PipelineError {
    const limit = this.options.maxQueuedRunsPerThread;
    return new PipelineError(
      'THREAD_BUSY',
      `Thread '${threadId}' already has ${queued} queued runs; the limit is ${limit} (MAX_QUEUED_RUNS_PER_THREAD). ` +
        'Wait for some to start, or cancel one.',
      { threadId, queued, limit },
    );
  }
}
