import { Inject, Injectable } from '@nestjs/common';
import type { AgentEventEnvelope, UsageDay } from '@agent-pipeline/protocol';
import { KYSELY_RUN_STORE } from '../pipeline.tokens';
import type { StepRecord } from '../durable/durable-step.types';
import { EventWriteBuffer } from './event-write.buffer';
import type {
  CancelledQueuedRun,
  IdempotencyClaim,
  IdempotentRun,
  InterruptScope,
  InterruptedRun,
  ListRunsQuery,
  ListThreadsQuery,
  NewRun,
  OrphanEnding,
  PruneBatch,
  ReadyThread,
  ResumableRun,
  ResumeScope,
  RunRecord,
  RunStore,
  ThreadRun,
  ThreadSummary,
  ThreadTransaction,
  UsageEntry,
  WriteBatch,
} from './run-store.interface';

/**
 * The run store as the pipeline, its apps and its tests see it (`RUN_STORE`): the database's
 * store with the {@link EventWriteBuffer} in front. Writes of runs and events go into the buffer
 * (group commit); every read here first has the buffer write what the read could see, so a
 * caller never flushes by hand and never misses a run or event this node has accepted.
 *
 * Only what a read needs is written, and only when the buffer holds it, so the hot path keeps its
 * cost: reads of runs wait for buffered runs (a fresh run's row rides with the next batch), reads
 * of events or steps for everything buffered, and thread transactions also for buffered terminal
 * events (until those are stored the store counts their runs in flight). Idempotency keys,
 * queued runs and usage totals are never buffered (a keyed run is stored at once by
 * {@link createIdempotentRun}, a queued one by {@link withThread}), so those reads go straight to
 * the database.
 */
@Injectable()
export class BufferedRunStore implements RunStore {
  constructor(
    @Inject(KYSELY_RUN_STORE) private readonly store: RunStore,
    private readonly buffer: EventWriteBuffer,
  ) {}

  /** `read`, once the buffered runs are stored (at once when there are none). */
  private afterRuns<T>(read: () => Promise<T>): Promise<T> {
    return this.buffer.hasUnstoredRuns ? this.buffer.flush().then(read) : read();
  }

  /** `read`, once everything buffered (runs, events, steps) is stored. */
  private afterAll<T>(read: () => Promise<T>): Promise<T> {
    return this.buffer.hasUnstored ? this.buffer.flush().then(read) : read();
  }

  migrate(): Promise<void> {
    return this.store.migrate();
  }

  createRun(run: NewRun): Promise<void> {
    return this.store.createRun(run);
  }

  createIdempotentRun(run: NewRun & { idempotency: IdempotencyClaim }, freshAfter: Date): Promise<IdempotentRun | undefined> {
    return this.store.createIdempotentRun(run, freshAfter);
  }

  findIdempotentRun(userId: string, key: string, freshAfter: Date): Promise<IdempotentRun | undefined> {
    return this.store.findIdempotentRun(userId, key, freshAfter);
  }

  /** A run still buffered is taken back, so that it cannot be written after the delete. */
  deleteRun(runId: string): Promise<void> {
    this.buffer.withdrawRun(runId);
    return this.afterRuns(() => this.store.deleteRun(runId));
  }

  appendEvents(events: readonly AgentEventEnvelope[]): Promise<void> {
    return this.store.appendEvents(events);
  }

  write(batch: WriteBatch): Promise<void> {
    return this.store.write(batch);
  }

  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.afterRuns(() => this.store.getRun(runId));
  }

  listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    return this.afterRuns(() => this.store.listRuns(userId, query));
  }

  listThreads(userId: string, query: ListThreadsQuery): Promise<ThreadSummary[]> {
    return this.afterRuns(() => this.store.listThreads(userId, query));
  }

  threadRuns(userId: string, threadId: string): Promise<RunRecord[]> {
    return this.afterRuns(() => this.store.threadRuns(userId, threadId));
  }

  pruneFinishedRuns(finishedBefore: Date, limit: number): Promise<PruneBatch> {
    return this.store.pruneFinishedRuns(finishedBefore, limit);
  }

  reclaimSpace(maxPages: number): Promise<number> {
    return this.store.reclaimSpace(maxPages);
  }

  getEvents(runId: string, afterSeq: number, limit?: number): Promise<AgentEventEnvelope[]> {
    return this.afterAll(() => this.store.getEvents(runId, afterSeq, limit));
  }

  getEventsOfType(runId: string, type: AgentEventEnvelope['type']): Promise<AgentEventEnvelope[]> {
    return this.afterAll(() => this.store.getEventsOfType(runId, type));
  }

  countRunning(userId: string): Promise<number> {
    return this.afterRuns(() => this.store.countRunning(userId));
  }

  /** Straight to the database: a buffered run's lease is fresh, the next renewal finds it stored. */
  renewLeases(nodeId: string, leaseUntil: Date): Promise<void> {
    return this.store.renewLeases(nodeId, leaseUntil);
  }

  /** After everything buffered: the terminal event it stores follows the run's last event. */
  interruptRuns(scope: InterruptScope): Promise<InterruptedRun[]> {
    return this.afterAll(() => this.store.interruptRuns(scope));
  }

  resumableRuns(scope: ResumeScope): Promise<ResumableRun[]> {
    return this.afterRuns(() => this.store.resumableRuns(scope));
  }

  claimRun(run: Pick<ResumableRun, 'runId' | 'nodeId' | 'leaseUntil'>, nodeId: string, leaseUntil: Date): Promise<boolean> {
    return this.afterRuns(() => this.store.claimRun(run, nodeId, leaseUntil));
  }

  releaseLeases(nodeId: string, runIds: readonly string[]): Promise<void> {
    return this.afterRuns(() => this.store.releaseLeases(nodeId, runIds));
  }

  /** After everything buffered: the ending is stored after the run's last event. */
  endRun(runId: string, nodeId: string, ending: OrphanEnding): Promise<InterruptedRun | undefined> {
    return this.afterAll(() => this.store.endRun(runId, nodeId, ending));
  }

  getSteps(runId: string): Promise<StepRecord[]> {
    return this.afterAll(() => this.store.getSteps(runId));
  }

  /**
   * After the buffered runs (the user's count of executing runs, a fresh thread's run) and, when
   * one waits, the buffered terminal events (a run that has just ended no longer holds its thread).
   */
  withThread<T>(userId: string, threadId: string, work: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
    const read = () => this.store.withThread(userId, threadId, work);
    return this.buffer.hasUnstoredRuns || this.buffer.hasUnstoredEnding ? this.buffer.flush().then(read) : read();
  }

  cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined> {
    return this.afterRuns(() => this.store.cancelQueued(runId, reason));
  }

  threadInFlight(userId: string, threadId: string): Promise<ThreadRun[]> {
    return this.afterRuns(() => this.store.threadInFlight(userId, threadId));
  }

  /**
   * Straight to the database, as {@link countQueued}: a buffered run is never queued, and a
   * thread's queue only forms inside {@link withThread}, after its buffered runs were written.
   * (Both run periodically: a flush forced there would split the group commits under load.)
   */
  readyThreads(limit: number): Promise<ReadyThread[]> {
    return this.store.readyThreads(limit);
  }

  countQueued(): Promise<number> {
    return this.store.countQueued();
  }

  /** After the buffered runs: a fresh run's tokens are added to its stored row. */
  recordUsage(entry: UsageEntry): Promise<void> {
    return this.afterRuns(() => this.store.recordUsage(entry));
  }

  usageDays(userId: string, from: string, to: string): Promise<UsageDay[]> {
    return this.store.usageDays(userId, from, to);
  }

  tokensUsedOn(userId: string, day: string): Promise<number> {
    return this.store.tokensUsedOn(userId, day);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
