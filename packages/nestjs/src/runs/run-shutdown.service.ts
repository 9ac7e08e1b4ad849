import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { EventPublisher } from '../emitter/event-publisher';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { AgentService } from './agent.service';
import { RunRegistry } from './run.registry';

/** The reason recorded when shutdown cancels a run that outlived the grace period. */
export const SHUTDOWN_CANCEL_REASON = 'shutdown';

/** How long the last events may take to reach the clients before connections are closed anyway. */
const DELIVERY_TIMEOUT_MS = 2000;

/**
 * Graceful shutdown of runs: stop taking new ones, give running ones `SHUTDOWN_GRACE_MS` to
 * finish, cancel the rest with reason `shutdown`, then close the connections once those runs'
 * last events are out. Runs before Nest closes the Socket.IO server and the store.
 */
@Injectable()
export class RunShutdownService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunShutdownService.name);

  constructor(
    private readonly agents: AgentService,
    private readonly registry: RunRegistry,
    private readonly publisher: EventPublisher,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.agents.stopAccepting();
    await this.finishRuns();
    await this.publisher.drainAndClose(DELIVERY_TIMEOUT_MS);
  }

  private async finishRuns(): Promise<void> {
    const running = this.registry.all();
    if (running.length === 0) return;
    this.logger.log(`Shutting down: ${running.length} runs have ${this.options.shutdownGraceMs} ms to finish.`);
    const allDone = Promise.all(running.map((r) => r.orchestrator?.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      timer = setTimeout(() => resolve('grace-over'), this.options.shutdownGraceMs);
    });
    const first = await Promise.race([allDone.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (first === 'done') return;
    const left = this.registry.all().filter((r) => r.orchestrator && !r.orchestrator.isEnded);
    this.logger.warn(`Grace period over: cancelling ${left.length} runs.`);
    await Promise.all(left.map((r) => r.orchestrator!.cancel(SHUTDOWN_CANCEL_REASON)));
  }
}
