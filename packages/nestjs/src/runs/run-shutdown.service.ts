import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { AgentRegistry } from '../agents/agent.registry';
import { EventPublisher } from '../emitter/event-publisher';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { RunStore } from '../store/run-store.interface';
import { AgentService } from './agent.service';
import { NODE_ID } from './node-id.token';
import { RunRecoveryService } from './run-recovery.service';
import { RunRegistry, type ActiveRun } from './run.registry';

/** The reason recorded when shutdown cancels a run that outlived the grace period. */
export const SHUTDOWN_CANCEL_REASON = 'shutdown';

/** How long the last events may take to reach the clients before connections are closed anyway. */
const DELIVERY_TIMEOUT_MS = 2000;

/**
 * Graceful shutdown of runs: stop taking new ones, give running ones `SHUTDOWN_GRACE_MS` to
 * finish, cancel the rest with reason `shutdown`, then close the connections once those runs'
 * last events are out. Runs before Nest closes the Socket.IO server and the store.
 *
 * Durable runs are not cancelled: those still going after the grace period (and waiting ones at
 * once, since only their user can move them) are suspended, and their leases given back, so
 * they go on at the next start or on another node.
 */
@Injectable()
export class RunShutdownService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunShutdownService.name);

  constructor(
    private readonly agents: AgentService,
    private readonly registry: RunRegistry,
    private readonly publisher: EventPublisher,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly agentRegistry: AgentRegistry,
    private readonly recovery: RunRecoveryService,
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(NODE_ID) private readonly nodeId: string,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.agents.stopAccepting();
    // No lease renewal may take back what the suspended runs give up, and no run is taken over now.
    this.recovery.stop();
    await this.finishRuns();
    await this.publisher.drainAndClose(DELIVERY_TIMEOUT_MS);
  }

  private async finishRuns(): Promise<void> {
    const running = this.registry.all();
    if (running.length === 0) return;
    this.logger.log(`Shutting down: ${running.length} runs have ${this.options.shutdownGraceMs} ms to finish.`);
    const suspended: string[] = [];
    const suspend = async (run: ActiveRun) => {
      await run.orchestrator!.suspend(SHUTDOWN_CANCEL_REASON);
      suspended.push(run.runId);
    };
    await Promise.all(running.filter((r) => this.isDurable(r) && r.orchestrator?.pendingInterrupt).map(suspend));
    const allDone = Promise.all(this.registry.all().map((r) => r.orchestrator?.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      timer = setTimeout(() => resolve('grace-over'), this.options.shutdownGraceMs);
    });
    const first = await Promise.race([allDone.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (first !== 'done') {
      const left = this.registry.all().filter((r) => r.orchestrator && !r.orchestrator.isEnded);
      const durable = left.filter((r) => this.isDurable(r));
      this.logger.warn(`Grace period over: cancelling ${left.length - durable.length} runs, suspending ${durable.length} durable runs.`);
      await Promise.all([
        ...left.filter((r) => !this.isDurable(r)).map((r) => r.orchestrator!.cancel(SHUTDOWN_CANCEL_REASON)),
        ...durable.map(suspend),
      ]);
    }
    if (suspended.length === 0) return;
    this.logger.log(`${suspended.length} durable runs suspended: they go on at the next start or on another node.`);
    await this.store.releaseLeases(this.nodeId, suspended).catch((err: Error) => {
      this.logger.warn(`Giving back the leases of suspended runs failed (they are taken over once the leases run out): ${err.message}`);
    });
  }

  private isDurable(run: ActiveRun): boolean {
    return this.agentRegistry.get(run.agent)?.durable === true;
  }
}
