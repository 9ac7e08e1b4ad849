import { Inject, Injectable } from '@nestjs/common';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { RunStore } from '../store/run-store.interface';
import { jsonByteLength } from '../validation/json-payload';
import { RunRateLimiter } from './run-rate.limiter';
import { RunRegistry } from './run.registry';

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
