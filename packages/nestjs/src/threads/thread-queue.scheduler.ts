import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EventPublisher } from '../emitter/event-publisher';
import { RunEventBus } from '../emitter/run-event.bus';
import { userRoom } from '../emitter/user-room';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { NODE_ID } from '../runs/node-id.token';
import { RunLifecycleHooks, type RunLifecycleInfo, type RunLifecycleObserver } from '../runs/run-lifecycle.hooks';
import { RunRecoveryService } from '../runs/run-recovery.service';
import { RunCommandBus } from '../runs/run-command.bus';
import { RunLauncher } from '../runs/run.launcher';
import { RunRegistry } from '../runs/run.registry';
import type { RunStore, ThreadRun } from '../store/run-store.interface';

/** Threads looked at per sweep. */
const SWEEP_BATCH = 100;

const START_FAILED_MESSAGE = 'The queued run could not be started on this server.';

/**
 * Starts queued runs: the first queued run of a thread starts once nothing else on the thread is
 * executing and its user is under `MAX_CONCURRENT_RUNS_PER_USER`. The claim is a conditional
 * `queued → running` update inside the store's per-user transaction, so among any number of
 * nodes exactly one starts a given run, on the node that claimed it.
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
  /** Threads whose first queued run waits for a concurrency slot of its user, by user. */
  private readonly waitingForSlot = new Map<string, Set<string>>();
  /**
   * Threads that had a run admitted or started through their queue on this node, and may still
   * have queued runs: only their runs' ends look at the queue. Most runs start a thread of their
   * own and end without costing a store transaction; a queue this node does not know of (its
   * runs were admitted on another node) is found by the sweep.
   */
  private readonly watched = new Set<string>();

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Inject(NODE_ID) private readonly nodeId: string,
    private readonly registry: RunRegistry,
    private readonly launcher: RunLauncher,
    private readonly lifecycle: RunLifecycleHooks,
    private readonly recovery: RunRecoveryService,
    private readonly publisher: EventPublisher,
    private readonly bus: RunEventBus,
    private readonly commands: RunCommandBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stopObserving = this.lifecycle.observe(this);
    // Another node queued a run behind one of ours: our run's end starts it.
    const stopWatching = this.commands.onWatch(({ userId, threadId }) => this.watch(userId, threadId));
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

  /**
   * Marks a thread whose queue the ends of its runs on this node must look at: the thread policy
   * calls it when it admits a run, and other nodes (over the command bus) when they queue one.
   */
  watch(userId: string, threadId: string): void {
    this.watched.add(threadKey(userId, threadId));
  }

  /** @internal Lifecycle observer: the thread of an ended run may start its next run. */
  runEnded(run: RunLifecycleInfo): void {
    if (this.stopped) return;
    if (this.watched.has(threadKey(run.userId, run.threadId))) void this.promote(run.userId, run.threadId);
    // The user has a slot again: the threads that waited for one may go.
    for (const threadId of this.waitingForSlot.get(run.userId) ?? []) {
      if (threadId !== run.threadId) void this.promote(run.userId, threadId);
    }
  }

  /** Looks in the store for threads with queued runs and nothing executing, and starts what it can. */
  async sweep(): Promise<void> {
    if (this.stopped || this.sweeping) return;
    this.sweeping = true;
    try {
      for (const { userId, threadId } of await this.store.readyThreads(SWEEP_BATCH)) {
        if (this.stopped) break;
        await this.promote(userId, threadId);
      }
    } catch (err) {
      this.logger.warn(`Queued run sweep failed (will retry): ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Starts the thread's first queued run on this node when the thread is free and the user has a
   * slot. Resolves the id of the run it started, if any; never rejects.
   */
  async promote(userId: string, threadId: string): Promise<string | undefined> {
    if (this.stopped) return undefined;
    let reserved: string | undefined;
    let claimed: ThreadRun | undefined;
    try {
      claimed = await this.store.withThread(userId, threadId, async (tx) => {
        const inFlight = await tx.inFlight();
        const head = inFlight[0];
        if (!inFlight.some((r) => r.status === 'queued')) {
          // Nothing waits: forgotten inside the transaction, so an admission that queues a run
          // next (serialized after it) watches the thread again once it has committed.
          this.watched.delete(threadKey(userId, threadId));
          this.setWaitingForSlot(userId, threadId, false);
          return undefined;
        }
        // Something still executes on the thread: its end tries again.
        if (inFlight.some((r) => r.status !== 'queued')) return undefined;
        const limit = this.options.maxConcurrentRunsPerUser;
        const shared = this.options.redisUrl !== undefined;
        if (this.registry.countForUser(userId) >= limit || (shared && (await tx.countExecuting()) >= limit)) {
          this.setWaitingForSlot(userId, threadId, true);
          return undefined;
        }
        // Checked again after the await above, then reserved before the claim's: a start on this
        // node cannot take the same slot meanwhile.
        if (this.registry.countForUser(userId) >= limit) {
          this.setWaitingForSlot(userId, threadId, true);
          return undefined;
        }
        this.registry.add({ runId: head.runId, userId, agent: head.agent, threadId });
        reserved = head.runId;
        const leaseUntil = new Date(Date.now() + this.options.runLeaseMs);
        return (await tx.claim(head.runId, this.nodeId, leaseUntil)) ? head : undefined;
      });
    } catch (err) {
      this.logger.warn({
        msg: `Starting the next queued run of thread ${threadId} failed (will retry): ${(err as Error).message}`,
        userId,
      });
      claimed = undefined;
    }
    if (!claimed) {
      if (reserved) this.registry.remove(reserved);
      return undefined;
    }
    this.setWaitingForSlot(userId, threadId, false);
    this.watch(userId, threadId);
    await this.launch(userId, threadId, claimed);
    return claimed.runId;
  }

  private async launch(userId: string, threadId: string, head: ThreadRun): Promise<void> {
    const info = { runId: head.runId, userId, agent: head.agent, threadId };
    try {
      const record = await this.store.getRun(head.runId);
      const run = { ...info, input: record?.input ?? null, traceparent: record?.traceparent };
      this.lifecycle.dequeued(info, Math.max(0, Date.now() - Date.parse(head.createdAt)));
      this.launcher.launch(info, await this.launcher.prepare(run));
    } catch (err) {
      // Claimed but impossible to execute here (its agent is not registered on this node, say):
      // it ends now rather than holding its thread until a restart.
      this.registry.remove(head.runId);
      this.logger.error({ msg: `Queued run ${head.runId} could not start: ${(err as Error).stack}`, runId: head.runId, userId });
      await this.fail(userId, threadId, head).catch(() => undefined);
    }
  }

  private async fail(userId: string, threadId: string, head: ThreadRun): Promise<void> {
    const event: AgentEventEnvelope<'agent_error'> = {
      runId: head.runId,
      threadId,
      seq: 1,
      type: 'agent_error',
      agent: head.agent,
      ts: new Date().toISOString(),
      data: { code: 'AGENT_FAILED', message: START_FAILED_MESSAGE },
    };
    await this.store.appendEvents([event]);
    this.publisher.publish(userRoom(userId), event);
    this.bus.publish(event);
    void this.promote(userId, threadId);
  }

  private setWaitingForSlot(userId: string, threadId: string, waiting: boolean): void {
    let threads = this.waitingForSlot.get(userId);
    if (waiting) {
      if (!threads) this.waitingForSlot.set(userId, (threads = new Set()));
      threads.add(threadId);
      return;
    }
    threads?.delete(threadId);
    if (threads?.size === 0) this.waitingForSlot.delete(userId);
  }
}

function threadKey(userId: string, threadId: string): string {
  return `${userId}\u0000${threadId}`;
}
