import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { RUN_STORE } from '../pipeline.tokens';
import { EndedRunAnnouncer } from '../runs/ended-run.announcer';
import { RunAdmission } from '../runs/run-admission.service';
import { RunLifecycleHooks } from '../runs/run-lifecycle.hooks';
import { RunLauncher } from '../runs/run.launcher';
import type { RunStore, ThreadRun } from '../store/run-store.interface';
import { ThreadQueueWatch } from './thread-queue.watch';

const START_FAILED_MESSAGE = 'The queued run could not be started on this server.';

/**
 * Starts the first queued run of a thread on this node when {@link RunAdmission.promote} lets it
 * (the thread is free and its user has a slot), and executes it. Called by the queue scheduler
 * and by the thread policy after a start it queued behind a run of another node or superseded.
 */
@Injectable()
export class ThreadQueuePromoter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ThreadQueuePromoter.name);
  private stopped = false;

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly admission: RunAdmission,
    private readonly launcher: RunLauncher,
    private readonly lifecycle: RunLifecycleHooks,
    private readonly announcer: EndedRunAnnouncer,
    private readonly watch: ThreadQueueWatch,
  ) {}

  /** A node going down starts nothing more; its queued runs stay stored for the next node or start. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
  }

  /**
   * Starts the thread's first queued run on this node when the thread is free and the user has a
   * slot. Resolves the id of the run it started, if any; never rejects.
   */
  async promote(userId: string, threadId: string): Promise<string | undefined> {
    if (this.stopped) return undefined;
    let claimed: ThreadRun | undefined;
    try {
      claimed = await this.admission.promote(userId, threadId);
    } catch (err) {
      this.logger.warn({
        msg: `Starting the next queued run of thread ${threadId} failed (will retry): ${(err as Error).message}`,
        userId,
      });
      return undefined;
    }
    if (!claimed) return undefined;
    this.watch.setWaitingForSlot(userId, threadId, false);
    this.watch.watch(userId, threadId);
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
      await this.admission.release(head.runId);
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
    this.announcer.announce({ userId, event });
    void this.promote(userId, threadId);
  }
}
