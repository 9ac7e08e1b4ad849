import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventPublisher } from '../emitter/event-publisher';
import { RunEventBus } from '../emitter/run-event.bus';
import { userRoom } from '../emitter/user-room';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { InterruptedRun, RunStore } from '../store/run-store.interface';
import { DurableRunResumer } from '../durable/durable-run.resumer';
import { NODE_ID } from './node-id.token';

/**
 * Closes or resumes runs whose process died. Alone (no `REDIS_URL`), this node owns every run in
 * the store, so at start every run still executing is resumed (durable agents) or marked
 * `INTERRUPTED`. Among several nodes, each node renews a lease on its runs and sweeps runs whose
 * lease expired: it takes over the durable ones and marks the others `INTERRUPTED`.
 */
@Injectable()
export class RunRecoveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RunRecoveryService.name);
  private timer?: NodeJS.Timeout;
  private recovery?: Promise<void>;
  private stopped = false;
  private sweeping = false;

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly publisher: EventPublisher,
    private readonly bus: RunEventBus,
    private readonly resumer: DurableRunResumer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.recovered();
    if (!this.options.redisUrl) return;
    const every = Math.max(50, Math.floor(this.options.runLeaseMs / 3));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  /**
   * Resolves once the runs a stopped process left running are closed: alone, all of them; among
   * several nodes, those whose lease had expired at the first sweep. The thread queue waits for
   * it before starting queued runs, so a queued run never waits behind a dead run. Idempotent.
   */
  recovered(): Promise<void> {
    this.recovery ??= this.options.redisUrl
      ? this.sweep()
      : this.store
          .interruptRuns({ kind: 'all' })
          .then((interrupted) => this.announce(interrupted))
          .then(() => this.resumer.resumeAll({ kind: 'all' }, 'restart'));
    return this.recovery;
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  /**
   * Renews no more leases and takes over no more runs: the node is going down (its durable runs
   * give their leases back, and a renewal must not take them again).
   */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    this.resumer.stop();
  }

  /** Renews this node's leases, then interrupts runs whose lease expired. */
  async sweep(): Promise<void> {
    if (this.stopped || this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      await this.store.renewLeases(this.nodeId, new Date(now + this.options.runLeaseMs));
      this.announce(await this.store.interruptRuns({ kind: 'lease-expired', now: new Date(now) }));
      await this.resumer.resumeAll({ kind: 'lease-expired', now: new Date(now) });
    } catch (err) {
      this.logger.warn(`Run lease sweep failed (will retry): ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  private announce(interrupted: InterruptedRun[]): void {
    for (const { userId, event } of interrupted) {
      this.logger.warn({
        msg: `Run ${event.runId} of user ${userId} was left running by a stopped node: marked INTERRUPTED.`,
        runId: event.runId,
        userId,
      });
      this.publisher.publish(userRoom(userId), event);
      this.bus.publish(event);
    }
  }
}
