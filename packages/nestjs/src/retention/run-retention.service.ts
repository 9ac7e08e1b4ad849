import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { RunDeletionHooks } from '../store/run-deletion.hooks';
import type { RunStore } from '../store/run-store.interface';

/** What one retention pass did. */
export interface RetentionPass {
  /** Runs deleted, with their events. */
  deleted: number;
  /** Transactions it took (the last one finds nothing more, or the pass stopped). */
  batches: number;
  /** The longest batch, in ms: how long the database (on SQLite, the event loop too) was held at most. */
  longestBatchMs: number;
  /** Pages given back to the file system (SQLite files with incremental auto-vacuum). */
  reclaimedPages: number;
  /** True when another node was pruning: this one left the work to it. */
  lockedElsewhere: boolean;
}

const DAY_MS = 86_400_000;
/** Pages one reclaim step frees at most (4 KiB each): about a millisecond of work per step (bench/retention.js). */
const RECLAIM_PAGES_PER_STEP = 256;
/** The first pass after start-up waits this long, so a start is not slowed by it. */
const FIRST_PASS_DELAY_MS = 30_000;

/**
 * Deletes finished runs older than `RUN_RETENTION_DAYS` (by finish time), with their events:
 * every `retentionIntervalMs` (hourly), in batches of `retentionBatchSize` runs, each its own
 * short transaction, with a pause between batches so that live runs get the database in between.
 * Runs in flight are never deleted. With several nodes on PostgreSQL, one prunes at a time (an
 * advisory lock per batch; a node that finds it taken leaves the pass to the holder). On SQLite,
 * the freed pages then go back to the file system a step at a time (incremental vacuum).
 * `0` (the default) keeps everything: an upgrade never deletes anything by surprise.
 */
@Injectable()
export class RunRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RunRetention.name);
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private pass?: Promise<RetentionPass>;

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly deletions: RunDeletionHooks,
  ) {}

  onApplicationBootstrap(): void {
    const days = this.options.runRetentionDays;
    if (!(days > 0)) {
      this.logger.log('Run retention: off (RUN_RETENTION_DAYS=0); every run and event is kept forever.');
      return;
    }
    const everyMin = Math.round(this.options.retentionIntervalMs / 60_000);
    this.logger.log(
      `Run retention: finished runs older than ${days} day(s) are deleted with their events ` +
        `(RUN_RETENTION_DAYS=${days}), checked every ${everyMin} min in batches of ${this.options.retentionBatchSize}.`,
    );
    const tick = () =>
      void this.prune().catch((err: unknown) => this.logger.warn(`Run retention pass failed (will retry): ${(err as Error).message}`));
    const first = setTimeout(tick, Math.min(FIRST_PASS_DELAY_MS, this.options.retentionIntervalMs));
    const every = setInterval(tick, this.options.retentionIntervalMs);
    first.unref();
    every.unref();
    this.timers = [first, every];
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    // A batch under way finishes (it is one short transaction); no new one starts.
    await this.pass?.catch(() => undefined);
  }

  /**
   * One pass as of `now`: deletes the runs that finished more than `RUN_RETENTION_DAYS` before
   * it, batch after batch, then reclaims the space. Overlapping calls share the pass under way.
   * Does nothing with retention off.
   */
  prune(now: Date = new Date()): Promise<RetentionPass> {
    this.pass ??= this.runPass(now).finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async runPass(now: Date): Promise<RetentionPass> {
    const result: RetentionPass = { deleted: 0, batches: 0, longestBatchMs: 0, reclaimedPages: 0, lockedElsewhere: false };
    const days = this.options.runRetentionDays;
    if (!(days > 0)) return result;
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    const size = this.options.retentionBatchSize;
    while (!this.stopped) {
      const started = performance.now();
      const batch = await this.store.pruneFinishedRuns(cutoff, size);
      result.longestBatchMs = Math.max(result.longestBatchMs, performance.now() - started);
      result.batches++;
      if (batch.lockedElsewhere) {
        result.lockedElsewhere = true;
        break;
      }
      result.deleted += batch.deleted;
      this.deletions.deleted(batch.deleted, 'retention');
      if (batch.deleted < size) break;
      await sleep(this.options.retentionBatchPauseMs);
    }
    while (result.deleted > 0 && !this.stopped) {
      const started = performance.now();
      const freed = await this.store.reclaimSpace(RECLAIM_PAGES_PER_STEP);
      result.longestBatchMs = Math.max(result.longestBatchMs, performance.now() - started);
      result.reclaimedPages += freed;
      if (freed < RECLAIM_PAGES_PER_STEP) break;
      await sleep(this.options.retentionBatchPauseMs);
    }
    if (result.deleted > 0) {
      this.logger.log(
        `Run retention deleted ${result.deleted} run(s) finished before ${cutoff.toISOString()} in ${result.batches} batch(es) ` +
          `(longest ${result.longestBatchMs.toFixed(1)} ms), reclaimed ${result.reclaimedPages} page(s).`,
      );
    }
    return result;
  }
}
