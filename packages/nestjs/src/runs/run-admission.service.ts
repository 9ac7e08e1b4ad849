import { Inject, Injectable } from '@nestjs/common';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from '../store/event-write.buffer';
import type { RunStore } from '../store/run-store.interface';
import { jsonByteLength } from '../validation/json-payload';
import { RunRateLimiter } from './run-rate.limiter';
import { RunRegistry } from './run.registry';

/** What `Retry-After` says when the store's backlog is full: the writer retries every second. */
const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * Decides whether a user may start one more run: input size, concurrent runs, start rate.
 * Checks that need no I/O come first, so a refused start costs next to nothing.
 */
@Injectable()
export class RunAdmission {
  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly registry: RunRegistry,
    private readonly rateLimiter: RunRateLimiter,
    private readonly writer: EventWriteBuffer,
  ) {}

  /**
   * Throws `UNAVAILABLE` while `STORE_BACKLOG_MAX_EVENTS` events wait for the store (it is down or
   * far behind). Runs already going keep emitting: only new work is turned away, so memory stops
   * growing with new runs and nothing accepted is dropped.
   */
  checkStoreBacklog(): void {
    const waiting = this.writer.pendingCount;
    const limit = this.options.storeBacklogMaxEvents;
    if (waiting < limit) return;
    throw new PipelineError(
      'UNAVAILABLE',
      `The run store is not keeping up (${waiting} events wait to be stored; the limit is ${limit}, STORE_BACKLOG_MAX_EVENTS). Retry shortly.`,
      { backlog: waiting, limit },
      STORE_RETRY_AFTER_SECONDS,
    );
  }

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
   * Throws `TOO_MANY_RUNS` or `RATE_LIMITED`. Call it synchronously before registering the run:
   * the local count includes runs still being created, so two starts cannot both take the last slot.
   */
  checkConcurrency(userId: string): void {
    const active = this.registry.countForUser(userId);
    if (active >= this.options.maxConcurrentRunsPerUser) throw this.tooMany(active);
  }

  /**
   * The cross-node check, once the run is stored: if the user now has more running runs than
   * allowed on all nodes together, this run is withdrawn (deleted before any event) and refused.
   * Two nodes racing may both refuse, never both admit.
   */
  async confirmSharedSlot(userId: string, runId: string): Promise<void> {
    if (!this.countsAcrossNodes) return;
    const running = await this.store.countRunning(userId);
    if (running <= this.options.maxConcurrentRunsPerUser) return;
    await this.store.deleteRun(runId);
    throw this.tooMany(running - 1);
  }

  consumeRate(userId: string): Promise<void> {
    return this.rateLimiter.consume(userId);
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
}
