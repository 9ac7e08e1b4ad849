import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { RunLifecycleHooks, type RunLifecycleInfo, type RunLifecycleObserver } from '../runs/run-lifecycle.hooks';
import { RunRecoveryService } from '../runs/run-recovery.service';
import { RunCommandBus } from '../runs/run-command.bus';
import type { RunStore } from '../store/run-store.interface';
import { ThreadQueuePromoter } from './thread-queue.promoter';
import { ThreadQueueWatch } from './thread-queue.watch';

/** Threads looked at per sweep. */
const SWEEP_BATCH = 100;

/**
 * Decides when to try starting queued runs: the first queued run of a thread starts once nothing
 * else on the thread is executing and its user is under `MAX_CONCURRENT_RUNS_PER_USER`
 * ({@link RunAdmission.promote}). The claim is a conditional `queued → running` update inside the
 * store's per-user transaction, so among any number of nodes exactly one starts a given run, on
 * the node that claimed it.
 *
 * It tries when a run of the thread ends on this node, when another run of a user whose queue
 * waits for a slot ends here, at start-up (after crashed runs are closed), and every
 * `queueSweepMs` for threads freed elsewhere: a node that died, a slot freed on another node.
 */
@Injectable()
export class ThreadQueueScheduler implements RunLifecycleObserver, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ThreadQueueScheduler.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private sweeping = false;
  private unobserve?: () => void;

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly lifecycle: RunLifecycleHooks,
    private readonly recovery: RunRecoveryService,
    private readonly commands: RunCommandBus,
    private readonly watch: ThreadQueueWatch,
    private readonly promoter: ThreadQueuePromoter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stopObserving = this.lifecycle.observe(this);
    // Another node queued a run behind one of ours: our run's end starts it.
    const stopWatching = this.commands.onWatch(({ userId, threadId }) => this.watch.watch(userId, threadId));
    this.unobserve = () => {
      stopObserving();
      stopWatching();
    };
    await this.recovery.recovered();
    await this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.options.queueSweepMs);
    this.timer.unref();
  }

  /** A node going down starts nothing more; its queued runs stay stored for the next node or start. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unobserve?.();
  }

  /** @internal Lifecycle observer: the thread of an ended run may start its next run. */
  runEnded(run: RunLifecycleInfo): void {
    if (this.stopped) return;
    if (this.watch.isWatched(run.userId, run.threadId)) void this.promoter.promote(run.userId, run.threadId);
    // The user has a slot again: the threads that waited for one may go.
    for (const threadId of this.watch.waitingForSlotOf(run.userId)) {
      if (threadId !== run.threadId) void this.promoter.promote(run.userId, threadId);
    }
  }

  /** Looks in the store for threads with queued runs and nothing executing, and starts what it can. */
  async sweep(): Promise<void> {
    if (this.stopped || this.sweeping) return;
    this.sweeping = true;
    try {
      for (const { userId, threadId } of await this.store.readyThreads(SWEEP_BATCH)) {
        if (this.stopped) break;
        await this.promoter.promote(userId, threadId);
      }
    } catch (err) {
      this.logger.warn(`Queued run sweep failed (will retry): ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
