import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResumeReason } from '@agent-pipeline/protocol';
import { AgentRegistry } from '../agents/agent.registry';
import type { RequestScopedOrchestrator } from '../execution/request-scoped.orchestrator';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { NODE_ID } from '../runs/node-id.token';
import { EndedRunAnnouncer } from '../runs/ended-run.announcer';
import { RunAdmission } from '../runs/run-admission.service';
import { RunLifecycleHooks } from '../runs/run-lifecycle.hooks';
import { RunLauncher } from '../runs/run.launcher';
import { RunRegistry } from '../runs/run.registry';
import { RELEASED_LEASE, type OrphanEnding, type ResumableRun, type ResumeScope, type RunStore } from '../store/run-store.interface';

/**
 * Resumes durable runs whose node is gone: claims each in the store (of nodes racing for a run,
 * exactly one wins), reads what its earlier attempts stored (events and steps) and executes it
 * again on this node, in a fresh per-run DI subtree, where its `run()` replays what was
 * recorded. A run past `RUN_MAX_ATTEMPTS`, or whose agent this node does not have, ends instead.
 */
@Injectable()
export class DurableRunResumer {
  private readonly logger = new Logger(DurableRunResumer.name);
  private stopped = false;

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly agents: AgentRegistry,
    private readonly registry: RunRegistry,
    private readonly admission: RunAdmission,
    private readonly launcher: RunLauncher,
    private readonly lifecycle: RunLifecycleHooks,
    private readonly announcer: EndedRunAnnouncer,
  ) {}

  /** The node shuts down: it takes no more runs. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Resumes every durable run of `scope` that this node can claim. `reason` is `restart` at the
   * start-up of a single node (every run in the store was its own), else it is read from the
   * lease: given back at a shutdown (`restart`) or run out (`node_lost`).
   */
  async resumeAll(scope: ResumeScope, reason?: ResumeReason): Promise<void> {
    for (const run of await this.store.resumableRuns(scope)) {
      if (this.stopped) return;
      await this.resume(run, reason ?? reasonOf(run));
    }
  }

  /**
   * Takes one durable run that no live node holds (an answer to its question arrived here) and
   * resumes it; resolves its orchestrator, or undefined when it no longer executes or another
   * node took it first.
   */
  async takeOver(runId: string): Promise<RequestScopedOrchestrator | undefined> {
    const [run] = await this.store.resumableRuns({ kind: 'run', runId });
    return run ? this.resume(run, reasonOf(run)) : undefined;
  }

  private async resume(run: ResumableRun, reason: ResumeReason): Promise<RequestScopedOrchestrator | undefined> {
    if (this.stopped || this.registry.get(run.runId)) return this.registry.get(run.runId)?.orchestrator;
    if (!(await this.store.claimRun(run, this.nodeId, new Date(Date.now() + this.options.runLeaseMs)))) return undefined;
    const info = { runId: run.runId, userId: run.userId, agent: run.agent, threadId: run.threadId };
    try {
      const events = await this.store.getEvents(run.runId, 0);
      const attempt = 2 + events.filter((e) => e.type === 'agent_resumed').length;
      // A waiting run only asks its question again: that costs no attempt (its answer may take days and deploys).
      if (run.status === 'running' && attempt > this.options.runMaxAttempts) {
        const message = `The run lost its node ${attempt - 1} times (RUN_MAX_ATTEMPTS = ${this.options.runMaxAttempts}) and was not resumed again.`;
        this.logger.warn({ msg: `Durable run ${run.runId} of user ${run.userId}: ${message}`, runId: run.runId, userId: run.userId });
        await this.end(run, { type: 'agent_error', data: { code: 'INTERRUPTED', message } });
        return undefined;
      }
      if (!this.agents.get(run.agent)) {
        const message = `The run's agent '${run.agent}' is not registered on the node that resumed it.`;
        this.logger.error({ msg: `Durable run ${run.runId} cannot be resumed: ${message}`, runId: run.runId, userId: run.userId });
        await this.end(run, { type: 'agent_error', data: { code: 'INTERRUPTED', message } });
        return undefined;
      }
      const steps = await this.store.getSteps(run.runId);
      this.admission.admitResumed(info);
      const handle = await this.launcher.prepare(
        { ...info, input: run.input, traceparent: run.traceparent },
        { resume: { attempt, reason, events, steps }, createdAt: Date.parse(run.createdAt) },
      );
      handle.orchestrator.onResumed = (data) => {
        this.logger.log({
          msg: `Durable run ${run.runId} (${run.agent}) resumed: attempt ${data.attempt}, after seq ${data.afterSeq} (${data.reason}).`,
          runId: run.runId,
          userId: run.userId,
          agent: run.agent,
          attempt: data.attempt,
          reason: data.reason,
        });
        this.lifecycle.resumed(info, data);
      };
      this.logger.log({
        msg: `Durable run ${run.runId} (${run.agent}) taken over by this node (${reason}, ${run.status}); replaying ${events.length} events and ${steps.length} steps.`,
        runId: run.runId,
        userId: run.userId,
      });
      this.launcher.launch(info, handle, { resumed: true });
      return handle.orchestrator;
    } catch (err) {
      await this.admission.release(run.runId);
      this.logger.error({ msg: `Resuming durable run ${run.runId} failed: ${(err as Error).stack}`, runId: run.runId, userId: run.userId });
      await this.end(run, {
        type: 'agent_error',
        data: { code: 'INTERRUPTED', message: 'The run could not be resumed after losing its node.' },
      }).catch(() => undefined);
      return undefined;
    }
  }

  /** Ends a claimed run in the store (it is this node's now) and tells its user. */
  private async end(run: ResumableRun, ending: OrphanEnding): Promise<void> {
    const ended = await this.store.endRun(run.runId, this.nodeId, ending);
    if (ended) this.announcer.announce(ended);
  }
}

/** A lease given back at shutdown means the node restarted (a deploy); one that ran out, that it was lost. */
function reasonOf(run: ResumableRun): ResumeReason {
  return run.leaseUntil === RELEASED_LEASE ? 'restart' : 'node_lost';
}
