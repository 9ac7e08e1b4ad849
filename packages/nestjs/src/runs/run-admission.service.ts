import { Inject, Injectable } from '@nestjs/common';
import { SUPERSEDED_CANCEL_REASON, type MultitaskPolicy } from '@agent-pipeline/protocol';
import type { RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from '../store/event-write.buffer';
import type { CancelledQueuedRun, IdempotencyClaim, NewRun, RunStore, ThreadRun } from '../store/run-store.interface';
import { ThreadQueueWatch } from '../threads/thread-queue.watch';
import { RunBudget } from '../usage/run-budget.service';
import { jsonByteLength } from '../validation/json-payload';
import { IdempotencyKeyTaken } from './idempotency/idempotency-key.taken';
import { idempotencyFreshAfter } from './idempotency/idempotency-ttl';
import { NODE_ID } from './node-id.token';
import { RunRateLimiter } from './run-rate.limiter';
import { RunRegistry, type ActiveRun } from './run.registry';

/** What `Retry-After` says when the store's backlog is full: the writer retries every second. */
const STORE_RETRY_AFTER_SECONDS = 5;

/** A run's identity on this node: what its registry slot holds. */
export type RunSlot = Pick<ActiveRun, 'runId' | 'userId' | 'agent' | 'threadId'>;

/** A run about to be stored: its identity and what is stored with it. */
export interface RunDraft extends RunSlot {
  input: unknown;
  /** The start's idempotency key: stored with the run, unless it already names one (which wins). */
  idempotency?: IdempotencyClaim;
  /** Its agent is durable (stored with the run, for recovery). */
  durable?: boolean;
  /** The W3C trace context the run continues, stored with it. */
  traceparent?: string;
}

/**
 * How a start on a named thread was decided, once its store transaction has committed. `start`:
 * stored as running with its registry slot taken. `queued`: stored as queued behind the runs
 * `executing`. `interrupt`: stored as queued; the thread's queued runs were `cancelled`, its
 * `executing` ones are to be superseded.
 */
export type ThreadDecision =
  | { kind: 'start' }
  | { kind: 'queued'; executing: ThreadRun[] }
  | { kind: 'interrupt'; executing: ThreadRun[]; cancelled: CancelledQueuedRun[] };

/**
 * The one place that decides whether a run may start now, waits in its thread's queue, or is
 * refused, for every way a run comes to execute on this node, and that takes back what a refused
 * run held.
 *
 * The checks, in this order on every path (a path skips the steps it does not take):
 * 1. the store backlog (`UNAVAILABLE`), then the daily budget (`QUOTA_EXCEEDED`): nothing is
 *    counted or stored yet;
 * 2. the local limit (`TOO_MANY_RUNS`): the user's runs in this node's registry, checked and the
 *    slot taken in one synchronous step, so two starts cannot both take the last slot;
 * 3. the rate limit (`RATE_LIMITED`);
 * 4. the shared limit (`TOO_MANY_RUNS`), only when nodes share a store ({@link countsAcrossNodes}):
 *    the user's running runs on all nodes, from the store.
 *
 * The paths:
 * - **new thread** ({@link checkCost}, {@link reserve}, {@link storeNew}): 1, 2, 3, then the run
 *   is stored and 4 counts it among the running runs; two nodes racing may both refuse, never
 *   both admit. A start refused by concurrency has used no rate token.
 * - **named thread** ({@link checkCost}, {@link admitOnThread}): 1, 3, then, in the user's store
 *   transaction, its multitask policy: a thread with nothing in flight starts (2, then 4 counted
 *   before the insert, under the user's lock); otherwise `reject` refuses (`THREAD_BUSY`),
 *   `enqueue` queues (`THREAD_BUSY` when `MAX_QUEUED_RUNS_PER_THREAD` are queued) and `interrupt`
 *   cancels the queued runs and queues behind the executing ones. Whether the run needs a slot is
 *   known only inside the transaction, and no rate is counted while the user's lock is held, so
 *   here a start refused by concurrency has used its rate token.
 * - **queued run promoted** ({@link promote}): 2 and 4 only, and it is never refused: without a
 *   slot it waits. Its budget and rate were counted when it was queued, and the backlog turns
 *   away new work, not work already accepted.
 * - **durable run resumed** ({@link admitResumed}): no limit. It was admitted once, its row still
 *   counts among the user's running runs on every node, and refusing it would end a run its user
 *   was promised would survive. It takes a registry slot, so it counts against the user's new
 *   starts on this node.
 *
 * Every refusal, and every start that fails before it executes, is cleaned up by {@link release}.
 */
@Injectable()
export class RunAdmission {
  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    private readonly registry: RunRegistry,
    private readonly rateLimiter: RunRateLimiter,
    private readonly writer: EventWriteBuffer,
    private readonly budget: RunBudget,
    private readonly watch: ThreadQueueWatch,
  ) {}

  /** Nodes share a store (scale-out): concurrent runs are also counted across all of them. */
  get countsAcrossNodes(): boolean {
    return this.options.redisUrl !== undefined;
  }

  /** Throws `PAYLOAD_TOO_LARGE` when the serialized input exceeds `MAX_INPUT_BYTES`. */
  checkInputSize(input: unknown): void {
    const bytes = jsonByteLength(input);
    if (bytes > this.options.maxInputBytes) {
      throw new PipelineError(
        'PAYLOAD_TOO_LARGE',
        `The input is ${bytes} bytes; the limit is ${this.options.maxInputBytes} bytes (MAX_INPUT_BYTES).`,
        { bytes, limit: this.options.maxInputBytes },
      );
    }
  }

  /**
   * Step 1 of a new start: throws `UNAVAILABLE` while `STORE_BACKLOG_MAX_EVENTS` events wait for
   * the store (it is down or far behind: runs already going keep emitting, only new work is
   * turned away, so memory stops growing and nothing accepted is dropped), then refuses with
   * `QUOTA_EXCEEDED` when the run's agent calls a model and the user's budget is spent. Undefined
   * (no promise, no I/O) when there is nothing to wait for.
   */
  checkCost(userId: string, agent: RegisteredAgent): Promise<void> | undefined {
    const waiting = this.writer.pendingCount;
    const limit = this.options.storeBacklogMaxEvents;
    if (waiting >= limit) {
      throw new PipelineError(
        'UNAVAILABLE',
        `The run store is not keeping up (${waiting} events wait to be stored; the limit is ${limit}, STORE_BACKLOG_MAX_EVENTS). Retry shortly.`,
        { backlog: waiting, limit },
        STORE_RETRY_AFTER_SECONDS,
      );
    }
    return this.budget.check(userId, agent);
  }

  /**
   * A run on a new thread takes its slot on this node (`TOO_MANY_RUNS` when the user has none
   * left), then its start is counted (`RATE_LIMITED`, and the slot is released). The check and the
   * slot are one synchronous step: a start that comes in meanwhile sees the slot taken.
   */
  reserve(run: RunSlot): Promise<void> {
    this.takeSlot(run);
    return this.rateLimiter.consume(run.userId).catch(async (err: unknown) => {
      await this.release(run.runId);
      throw err;
    });
  }

  /**
   * Stores a {@link reserve}d run of a new thread and, when nodes share a store, confirms its slot
   * among the user's running runs on all of them (`TOO_MANY_RUNS` if it is one too many). A keyed
   * run is stored at once, on its own (`IdempotencyKeyTaken` when another run holds its key); any
   * other rides with the next group commit, shared with other starts and endings of this turn.
   * A refused run is released, its row taken back.
   */
  async storeNew(draft: RunDraft): Promise<void> {
    const row = this.newRun(draft);
    let stored = false;
    try {
      if (row.idempotency) {
        const holder = await this.store.createIdempotentRun({ ...row, idempotency: row.idempotency }, this.freshAfter());
        if (holder) throw new IdempotencyKeyTaken(holder);
      } else {
        // Before any of its events: a disk round trip per start would cost more than the run.
        this.writer.appendRun(row);
        // Alone, this node answers every read of its runs (RUN_STORE writes the buffer before it
        // reads), so the row can ride along with the run's first batch. Shared, other nodes count
        // and read it from the database: store it now.
        if (this.countsAcrossNodes) await this.writer.flushSoon();
      }
      stored = true;
      if (!this.countsAcrossNodes) return;
      const running = await this.store.countRunning(draft.userId);
      if (running > this.options.maxConcurrentRunsPerUser) throw this.tooMany(running - 1);
    } catch (err) {
      await this.release(draft.runId, stored);
      throw err;
    }
  }

  /**
   * Decides a start on a thread the caller named by its multitask `policy`, after counting its
   * rate: the idempotency key, the decision and the stored run happen in one per-user store
   * transaction, so racing starts, on one node or several, come out in one order. Throws
   * `RATE_LIMITED`, `THREAD_BUSY` (reject, or the queue is full), `TOO_MANY_RUNS` (the thread is
   * free but the user is at the limit) or `IdempotencyKeyTaken`; nothing is stored then.
   */
  async admitOnThread(draft: RunDraft, policy: MultitaskPolicy = this.options.threadMultitask): Promise<ThreadDecision> {
    await this.rateLimiter.consume(draft.userId);
    return this.decideOnThread(draft, policy);
  }

  /**
   * Promotes the first queued run of the thread when nothing else on it executes and its user has
   * a slot: claimed for this node in the store, its registry slot taken. Undefined when nothing is
   * queued (the thread is forgotten), something still executes (its end tries again) or the user
   * has no slot (the thread waits for one; an end of another of the user's runs tries again).
   */
  async promote(userId: string, threadId: string): Promise<ThreadRun | undefined> {
    let reserved: string | undefined;
    let claimed: ThreadRun | undefined;
    try {
      claimed = await this.store.withThread(userId, threadId, async (tx) => {
        const inFlight = await tx.inFlight();
        const head = inFlight[0];
        if (!inFlight.some((r) => r.status === 'queued')) {
          // Nothing waits: forgotten inside the transaction, so an admission that queues a run
          // next (serialized after it) watches the thread again once it has committed.
          this.watch.forget(userId, threadId);
          return undefined;
        }
        if (inFlight.some((r) => r.status !== 'queued')) return undefined;
        const limit = this.options.maxConcurrentRunsPerUser;
        // Checked again after the shared count's await, then reserved before the claim's: a start
        // on this node cannot take the same slot meanwhile.
        if (
          this.registry.countForUser(userId) >= limit ||
          (this.countsAcrossNodes && (await tx.countExecuting()) >= limit) ||
          this.registry.countForUser(userId) >= limit
        ) {
          this.watch.setWaitingForSlot(userId, threadId, true);
          return undefined;
        }
        this.registry.add({ runId: head.runId, userId, agent: head.agent, threadId });
        reserved = head.runId;
        return (await tx.claim(head.runId, this.nodeId, this.leaseFromNow())) ? head : undefined;
      });
    } finally {
      if (!claimed && reserved) await this.release(reserved);
    }
    return claimed;
  }

  /**
   * A durable run this node has claimed to resume takes its registry slot, whatever the limits
   * (see the class's notes): it was admitted when it first started.
   */
  admitResumed(run: RunSlot): void {
    this.registry.add({ runId: run.runId, userId: run.userId, agent: run.agent, threadId: run.threadId });
  }

  /**
   * Takes back what a refused (or failed) start held: its registry slot, its row and events still
   * unwritten in the write buffer and, when `stored` and already written, its row in the store
   * (it never executed, so it must hold neither its thread nor a slot). Never rejects.
   */
  async release(runId: string, stored = false): Promise<void> {
    this.registry.remove(runId);
    if (!this.writer.withdrawRun(runId) && stored) await this.store.deleteRun(runId).catch(() => undefined);
  }

  /** The row of a new run, leased to this node from now. */
  newRun(draft: RunDraft): NewRun {
    const createdAt = new Date();
    return {
      runId: draft.runId,
      threadId: draft.threadId,
      userId: draft.userId,
      agent: draft.agent,
      input: draft.input,
      createdAt,
      nodeId: this.nodeId,
      leaseUntil: new Date(createdAt.getTime() + this.options.runLeaseMs),
      idempotency: draft.idempotency,
      durable: draft.durable === true,
      traceparent: draft.traceparent,
    };
  }

  /** The `TOO_MANY_RUNS` refusal for a user who has `active` runs going. */
  tooMany(active: number): PipelineError {
    const limit = this.options.maxConcurrentRunsPerUser;
    return new PipelineError(
      'TOO_MANY_RUNS',
      `You already have ${active} runs going; the limit is ${limit} (MAX_CONCURRENT_RUNS_PER_USER). Wait for one to end or cancel one.`,
      { active, limit },
    );
  }

  private async decideOnThread(draft: RunDraft, policy: MultitaskPolicy): Promise<ThreadDecision> {
    const { userId, threadId } = draft;
    let reserved = false;
    try {
      return await this.store.withThread(userId, threadId, async (tx): Promise<ThreadDecision> => {
        // Under the user's lock: a start with this key that got here first, on any node, wins.
        const holder = draft.idempotency && (await tx.idempotentRun(draft.idempotency.key, this.freshAfter()));
        if (holder) throw new IdempotencyKeyTaken(holder);
        const inFlight = await tx.inFlight();
        const run = this.newRun(draft);
        if (inFlight.length === 0) {
          this.takeSlot(draft);
          reserved = true;
          if (this.countsAcrossNodes) {
            const executing = await tx.countExecuting();
            if (executing >= this.options.maxConcurrentRunsPerUser) throw this.tooMany(executing);
          }
          await tx.insert({ ...run, status: 'running' });
          return { kind: 'start' };
        }
        if (policy === 'reject') throw this.busy(threadId, inFlight);
        const executing = inFlight.filter((r) => r.status !== 'queued');
        if (policy === 'enqueue') {
          const queued = inFlight.length - executing.length;
          if (queued >= this.options.maxQueuedRunsPerThread) throw this.queueFull(threadId, queued);
          await tx.insert({ ...run, status: 'queued' });
          return { kind: 'queued', executing };
        }
        const cancelled: CancelledQueuedRun[] = [];
        for (const r of inFlight) {
          if (r.status !== 'queued') continue;
          const ended = await tx.cancelQueued(r.runId, SUPERSEDED_CANCEL_REASON);
          if (ended) cancelled.push(ended);
        }
        await tx.insert({ ...run, status: 'queued' });
        return { kind: 'interrupt', executing, cancelled };
      });
    } catch (err) {
      if (reserved) await this.release(draft.runId);
      throw err;
    }
  }

  /** The local limit: `TOO_MANY_RUNS`, or the slot taken at once (the registry count includes runs still being created). */
  private takeSlot(run: RunSlot): void {
    const active = this.registry.countForUser(run.userId);
    if (active >= this.options.maxConcurrentRunsPerUser) throw this.tooMany(active);
    this.registry.add({ runId: run.runId, userId: run.userId, agent: run.agent, threadId: run.threadId });
  }

  private leaseFromNow(): Date {
    return new Date(Date.now() + this.options.runLeaseMs);
  }

  /** Keys of runs created before this no longer name them. */
  private freshAfter(): Date {
    return idempotencyFreshAfter(this.options.idempotencyTtlMs);
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
