import { Inject, Injectable } from '@nestjs/common';
import { isInFlightStatus } from '@agent-pipeline/protocol';
import { AgentRegistry } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import type { RequestScopedOrchestrator } from '../execution/request-scoped.orchestrator';
import { RUN_STORE } from '../pipeline.tokens';
import type { RunStore } from '../store/run-store.interface';
import { ThreadPolicy } from '../threads/thread-policy.service';
import { EndedRunAnnouncer } from './ended-run.announcer';
import { NODE_ID } from './node-id.token';
import { RunCommandBus } from './run-command.bus';
import { RunReader } from './run.reader';
import { RunRegistry } from './run.registry';

/** Cancels a user's run wherever it is: executing here or on another node, queued, or orphaned. */
@Injectable()
export class RunCanceller {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
    private readonly agents: AgentRegistry,
    private readonly registry: RunRegistry,
    private readonly reader: RunReader,
    private readonly threads: ThreadPolicy,
    private readonly commands: RunCommandBus,
    private readonly announcer: EndedRunAnnouncer,
  ) {}

  /** See {@link AgentService.cancel}. */
  async cancel(userId: string, runId: string, reason: string): Promise<{ runId: string; status: 'cancelled' }> {
    const active = this.registry.get(runId);
    if (active && active.userId === userId) {
      // Being created (or resumed) on this node: cancel it where it is about to execute.
      const orchestrator = active.orchestrator ?? (await this.registry.orchestratorSoon(runId));
      if (orchestrator) return this.cancelHere(orchestrator, runId, reason);
    }
    const run = await this.reader.getRun(userId, runId);
    if (run.status === 'queued') {
      if (await this.threads.cancelQueued(runId, reason)) return { runId, status: 'cancelled' };
      // It started a moment ago, maybe on this node: cancel it where it executes.
      const started = await this.registry.orchestratorSoon(runId);
      if (started) return this.cancelHere(started, runId, reason);
    } else if (!isInFlightStatus(run.status)) {
      throw this.finished(runId);
    }
    const remote = await this.commands.cancelElsewhere(runId, reason);
    if (remote === 'cancelled') return { runId, status: 'cancelled' };
    if (remote === 'finished') throw this.finished(runId);
    // No node executes it. A durable run waits for one (its node died; a lease or a start will
    // resume it): it ends here, in the store, and is not resumed.
    if (this.agents.get(run.agent)?.durable && run.nodeId !== this.nodeId) {
      const ended = await this.store.endRun(runId, run.nodeId, { type: 'agent_cancelled', data: { reason } });
      if (ended) {
        this.announcer.announce(ended);
        return { runId, status: 'cancelled' };
      }
      // Taken over meanwhile: the node that took it cancels it.
      const again = await this.commands.cancelElsewhere(runId, reason);
      if (again === 'cancelled') return { runId, status: 'cancelled' };
      const here = await this.registry.orchestratorSoon(runId);
      if (here) return this.cancelHere(here, runId, reason);
    }
    // Still being created on this node: it has no orchestrator yet. Anything else is an orphan
    // that lease recovery will close; to the caller it is not cancellable.
    throw new PipelineError('RUN_FINISHED', `Run '${runId}' cannot be cancelled: it is not executing on any node.`);
  }

  private async cancelHere(
    orchestrator: RequestScopedOrchestrator,
    runId: string,
    reason: string,
  ): Promise<{ runId: string; status: 'cancelled' }> {
    if (await orchestrator.cancel(reason)) return { runId, status: 'cancelled' };
    throw this.finished(runId);
  }

  private finished(runId: string): PipelineError {
    return new PipelineError('RUN_FINISHED', `Run '${runId}' has already ended.`);
  }
}
