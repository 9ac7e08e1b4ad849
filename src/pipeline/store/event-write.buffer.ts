import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AgentEventEnvelope } from '../events/agent-event.types';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { RunStore } from './run-store.interface';

/**
 * Batches event writes so that no event waits for the disk: events are appended in memory and
 * written in one transaction every `storeFlushIntervalMs`, and at once when a run ends (the
 * terminal event is only published after its run's events are stored) or the process stops.
 * Flushes never overlap, so events are written in the order they were emitted.
 */
@Injectable()
export class EventWriteBuffer {
  private readonly logger = new Logger(EventWriteBuffer.name);
  private pending: AgentEventEnvelope[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
  ) {}

  append(event: AgentEventEnvelope): void {
    this.pending.push(event);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush().catch(() => undefined), this.options.storeFlushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes every event appended so far; resolves once they are stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const next = this.chain.then(() => this.writePending());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Events appended but not yet stored (for health and tests). */
  get pendingCount(): number {
    return this.pending.length;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.appendEvents(batch);
    } catch (err) {
      // Keep the batch, in order, ahead of anything appended meanwhile; the next flush retries it.
      this.pending = batch.concat(this.pending);
      this.logger.error(`Storing ${batch.length} events failed, will retry: ${(err as Error).message}`);
      if (!this.timer) {
        this.timer = setTimeout(() => void this.flush().catch(() => undefined), 1000);
        this.timer.unref();
      }
      throw err;
    }
  }
}
