import { Inject, Injectable, Logger } from '@nestjs/common';
import { type AgentEventEnvelope, isTerminalEventType } from '@agent-pipeline/protocol';
import { KYSELY_RUN_STORE, PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { NewRun, RunStore, WriteBatch } from './run-store.interface';
import type { StepRecord } from '../durable/durable-step.types';

/**
 * Batches event writes so that no event waits for the disk: events are appended in memory and
 * written in one transaction every `storeFlushIntervalMs`, and at once when a run ends (the
 * terminal event is only published after its run's events are stored) or the process stops.
 * Flushes never overlap, so events are written in the order they were emitted. It writes to the
 * database's store; reads go through `BufferedRunStore` (`RUN_STORE`), which flushes what a read
 * could see first.
 */
@Injectable()
export class EventWriteBuffer {
  private readonly logger = new Logger(EventWriteBuffer.name);
  private pending: AgentEventEnvelope[] = [];
  private pendingRuns: NewRun[] = [];
  private pendingSteps: StepRecord[] = [];
  /** Called, in order, once the batch that holds what was appended before them is stored. */
  private pendingStored: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private soon?: Promise<void>;
  /** The batch being written: stored only once its write resolves. */
  private writing?: WriteBatch;

  constructor(
    @Inject(KYSELY_RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
  ) {}

  append(event: AgentEventEnvelope): void {
    this.pending.push(event);
    this.schedule();
  }

  private schedule(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.options.storeFlushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * An event that nobody may see before it is stored (a durable run's): `stored` is called once
   * it is, in the order of these calls, after retries if the store fails meanwhile. Flushed soon
   * (see {@link flushSoon}) rather than at the next interval: the event waits for the disk.
   */
  appendThen(event: AgentEventEnvelope, stored: () => void): void {
    this.pending.push(event);
    this.pendingStored.push(stored);
    void this.flushSoon().catch(() => undefined);
  }

  /** Records a durable run's step with the next flush, after the events appended before it. */
  appendStep(step: StepRecord): void {
    this.pendingSteps.push(step);
    void this.flushSoon().catch(() => undefined);
  }

  /**
   * Queues a new run; it is written before any event, in the next flush (see {@link flushSoon}).
   * Only a `running` run without an idempotency key: queued and keyed runs are stored at once
   * (`BufferedRunStore` reads those straight from the database).
   */
  appendRun(run: NewRun): void {
    this.pendingRuns.push(run);
    this.schedule();
  }

  /**
   * Takes back a run that was refused before it started (and whatever of it is still unwritten).
   * Returns false if it was already written.
   */
  withdrawRun(runId: string): boolean {
    const before = this.pendingRuns.length;
    this.pendingRuns = this.pendingRuns.filter((r) => r.runId !== runId);
    this.pending = this.pending.filter((e) => e.runId !== runId);
    this.pendingSteps = this.pendingSteps.filter((s) => s.runId !== runId);
    return this.pendingRuns.length < before;
  }

  /** Writes every run and event appended so far; resolves once they are stored. */
  flush(): Promise<void> {
    return this.flushPending(false);
  }

  private flushPending(groupCommit: boolean): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const next = this.chain.then(() => this.writePending(groupCommit));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Group commit: one flush, `groupCommitMs` from the first caller, for every caller until then.
   * Runs ending close together (the common case under load) share one transaction, which costs
   * far less than one each; a lone run waits only that long.
   */
  flushSoon(): Promise<void> {
    if (!this.soon) {
      this.soon = new Promise<void>((resolve, reject) => {
        const go = () => {
          this.soon = undefined;
          this.flushPending(true).then(resolve, reject);
        };
        if (this.options.groupCommitMs > 0) setTimeout(go, this.options.groupCommitMs);
        else setImmediate(go);
      });
    }
    return this.soon;
  }

  /** True while a run appended here is not yet stored (queued, or in a write still under way). */
  get hasUnstoredRuns(): boolean {
    return this.pendingRuns.length > 0 || (this.writing !== undefined && this.writing.runs.length > 0);
  }

  /** True while anything appended here (run, event or step) is not yet stored. */
  get hasUnstored(): boolean {
    return this.writing !== undefined || this.pending.length > 0 || this.pendingRuns.length > 0 || this.pendingSteps.length > 0;
  }

  /**
   * True while a terminal event appended here is not yet stored: until it is, the store still
   * holds its run in flight. A scan of what waits, for the few reads that need it (thread
   * transactions), so that appending costs nothing more.
   */
  get hasUnstoredEnding(): boolean {
    return this.pending.some(isTerminal) || (this.writing !== undefined && this.writing.events.some(isTerminal));
  }

  /** Events appended but not yet stored, with those being written (the backlog limit, health, metrics). */
  get pendingCount(): number {
    // A batch under way counts until it is stored: a write that hangs on a dead store must not
    // let the backlog limit (STORE_BACKLOG_MAX_EVENTS) see an empty buffer meanwhile.
    return this.pending.length + (this.writing?.events.length ?? 0);
  }

  /**
   * A node alone holds back, from a group commit, the runs that have no event in it yet: a run
   * started in this turn gets its first events in the next one (it executes on the next
   * macrotask), so its row rides with them, inserted once (finished, for a short run) instead of
   * inserted running now and updated later. Nothing reads those rows before a plain
   * {@link flush} (every read of runs through `RUN_STORE` flushes first) or the flush timer writes them. Nodes that
   * share a store count each other's runs from it, so there every run is written at once.
   */
  private holdBack(runs: NewRun[], events: AgentEventEnvelope[]): { now: NewRun[]; later: NewRun[] } {
    if (this.options.redisUrl !== undefined || runs.length === 0) return { now: runs, later: [] };
    const withEvents = new Set<string>();
    for (const e of events) withEvents.add(e.runId);
    const now: NewRun[] = [];
    const later: NewRun[] = [];
    for (const run of runs) (withEvents.has(run.runId) ? now : later).push(run);
    return { now, later };
  }

  private async writePending(groupCommit: boolean): Promise<void> {
    if (this.pending.length === 0 && this.pendingRuns.length === 0 && this.pendingSteps.length === 0) return;
    const batch = this.pending;
    const { now: runs, later } = groupCommit ? this.holdBack(this.pendingRuns, batch) : { now: this.pendingRuns, later: [] };
    const steps = this.pendingSteps;
    const stored = this.pendingStored;
    this.pending = [];
    this.pendingRuns = later;
    this.pendingSteps = [];
    this.pendingStored = [];
    if (later.length > 0) this.schedule();
    if (batch.length === 0 && runs.length === 0 && steps.length === 0) return;
    const writing: WriteBatch = steps.length > 0 ? { runs, events: batch, steps } : { runs, events: batch };
    this.writing = writing;
    try {
      await this.store.write(writing);
    } catch (err) {
      // Keep the batch, in order, ahead of anything appended meanwhile; the next flush retries it.
      this.pending = batch.concat(this.pending);
      this.pendingRuns = runs.concat(this.pendingRuns);
      this.pendingSteps = steps.concat(this.pendingSteps);
      this.pendingStored = stored.concat(this.pendingStored);
      const what = runs.length > 0 ? `${runs.length} runs and ${batch.length} events` : `${batch.length} events`;
      this.logger.error(`Storing ${what} failed, will retry: ${(err as Error).message}`);
      if (!this.timer) {
        this.timer = setTimeout(() => void this.flush().catch(() => undefined), 1000);
        this.timer.unref();
      }
      throw err;
    } finally {
      this.writing = undefined;
    }
    for (const callback of stored) callback();
  }
}

const isTerminal = (event: AgentEventEnvelope): boolean => isTerminalEventType(event.type);
