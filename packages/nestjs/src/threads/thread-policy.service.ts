import { Inject, Injectable } from '@nestjs/common';
import { SUPERSEDED_CANCEL_REASON, type MultitaskPolicy } from '@agent-pipeline/protocol';
import { RUN_STORE } from '../pipeline.tokens';
import { EndedRunAnnouncer } from '../runs/ended-run.announcer';
import { RunAdmission, type RunDraft } from '../runs/run-admission.service';
import { RunCommandBus } from '../runs/run-command.bus';
import { RunRegistry } from '../runs/run.registry';
import type { RunRecord, RunStore } from '../store/run-store.interface';
import { ThreadQueuePromoter } from './thread-queue.promoter';
import { ThreadQueueWatch } from './thread-queue.watch';

/**
 * How a start on a thread was admitted. `start`: stored as running on this node with its slot
 * reserved in the registry; the caller executes it. `started`: it waited only for the runs it
 * superseded and is already executing (on this node or another). `queued`: stored, it waits.
 */
export type ThreadAdmission = 'start' | 'started' | 'queued';

/** Where a queued run stands on its thread (see `GET /runs/:runId`). */
export interface QueuePlace {
  /** 1 for the queued run that starts next on its thread, 2 for the one after it, … */
  queuePosition: number;
  /** The run just ahead of it on the thread (executing, or queued before it). */
  queuedBehind?: string;
}

/** How long a superseding start waits for a run on this node that is still being created. */
const CREATING_WAIT_MS = 2000;

/**
 * The per-thread multitask policy (DESIGN.md, "Runs and threads"). On a thread with nothing in
 * flight a start runs at once; otherwise `reject` refuses it with `THREAD_BUSY`, `enqueue` stores
 * it as `queued` behind the runs in flight (at most `MAX_QUEUED_RUNS_PER_THREAD`), and `interrupt`
 * cancels the thread's queued runs at once and its executing ones with reason `superseded`, and
 * starts once they have ended. {@link RunAdmission.admitOnThread} decides, in one per-user store
 * transaction; this class carries the decision out once it has committed.
 */
@Injectable()
export class ThreadPolicy {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly admission: RunAdmission,
    private readonly registry: RunRegistry,
    private readonly commands: RunCommandBus,
    private readonly announcer: EndedRunAnnouncer,
    private readonly watch: ThreadQueueWatch,
    private readonly promoter: ThreadQueuePromoter,
  ) {}

  /**
   * Admits a run on its thread by `policy` (`THREAD_MULTITASK` when absent). Throws
   * `RATE_LIMITED`, `THREAD_BUSY` (reject, or the queue is full) or `TOO_MANY_RUNS` (the thread is
   * free but the user is at the limit); nothing is stored then.
   */
  async admit(request: RunDraft, policy?: MultitaskPolicy): Promise<ThreadAdmission> {
    const { runId, userId, threadId } = request;
    const decision = await this.admission.admitOnThread(request, policy);
    // After the commit: a run of this thread ending from now on looks at its queue.
    this.watch.watch(userId, threadId);
    if (decision.kind === 'start') return 'start';
    if (decision.kind === 'queued') {
      // The run ahead executes here: its end starts the queue. On another node: that node is told
      // to watch the thread, and in case the run ended before it could be told, look once now.
      // The sweep covers what slips between the two.
      if (decision.executing.length === 0 || decision.executing.some((r) => this.registry.get(r.runId))) return 'queued';
      for (const ahead of decision.executing) this.commands.watchElsewhere({ userId, threadId, runId: ahead.runId });
      return (await this.promoter.promote(userId, threadId)) === runId ? 'started' : 'queued';
    }
    for (const ended of decision.cancelled) this.announcer.announce(ended);
    await Promise.all(decision.executing.map((r) => this.supersede(r.runId)));
    // The superseded runs' ends already tried (on their nodes); once more here, in case one of
    // them had ended before it could see this run.
    await this.promoter.promote(userId, threadId);
    if (this.registry.get(runId)) return 'started';
    const now = await this.store.getRun(runId);
    return now?.status === 'queued' ? 'queued' : 'started';
  }

  /**
   * Ends one of the user's queued runs without starting it (its one event: `agent_cancelled` at
   * seq 1). Returns false when the run was not queued any more (it has just started).
   */
  async cancelQueued(runId: string, reason: string): Promise<boolean> {
    const ended = await this.store.cancelQueued(runId, reason);
    if (!ended) return false;
    this.announcer.announce(ended);
    return true;
  }

  /** Where a queued run stands on its thread; undefined for a run that is not queued. */
  async queuePlace(run: RunRecord): Promise<QueuePlace | undefined> {
    if (run.status !== 'queued') return undefined;
    const inFlight = await this.store.threadInFlight(run.userId, run.threadId);
    const index = inFlight.findIndex((r) => r.runId === run.runId);
    if (index < 0) return undefined;
    const place: QueuePlace = { queuePosition: inFlight.slice(0, index + 1).filter((r) => r.status === 'queued').length };
    if (index > 0) place.queuedBehind = inFlight[index - 1].runId;
    return place;
  }

  /** Cancels an executing run of the thread with reason `superseded`, here or on its node. */
  private async supersede(runId: string): Promise<void> {
    // A run of this node still being created has no orchestrator yet: it gets one within moments.
    const local = await this.registry.orchestratorSoon(runId, CREATING_WAIT_MS);
    if (local) {
      await local.cancel(SUPERSEDED_CANCEL_REASON);
      return;
    }
    // Not executing here: its node cancels it; an orphan of a dead node is closed by lease recovery.
    await this.commands.cancelElsewhere(runId, SUPERSEDED_CANCEL_REASON);
  }
}
