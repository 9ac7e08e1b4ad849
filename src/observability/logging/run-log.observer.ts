import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RunLifecycleHooks, type RunEnding, type RunLifecycleInfo, type RunLifecycleObserver } from '@agent-pipeline/nestjs';

/**
 * One log line when a run starts (debug) and one when it ends (info, warn when it failed), each
 * with the run id and user id as fields (and, with tracing on, its `trace_id` and `span_id`), so a
 * run's lines can be found by any of them.
 */
@Injectable()
export class RunLogObserver implements RunLifecycleObserver, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Runs');
  private stopObserving?: () => void;

  constructor(private readonly lifecycle: RunLifecycleHooks) {}

  onModuleInit(): void {
    this.stopObserving = this.lifecycle.observe(this);
  }

  onModuleDestroy(): void {
    this.stopObserving?.();
  }

  runStarted(run: RunLifecycleInfo): void {
    this.logger.debug({ msg: `Run started (${run.agent})`, ...fields(run) });
  }

  runEnded(run: RunLifecycleInfo, { outcome, durationMs }: RunEnding): void {
    const line = { ...fields(run), outcome: outcome.kind, durationMs };
    if (outcome.kind === 'error') {
      this.logger.warn({ msg: `Run failed (${run.agent}): ${outcome.code}: ${outcome.message}`, ...line, code: outcome.code });
    } else {
      this.logger.log({ msg: `Run ${outcome.kind} (${run.agent})`, ...line });
    }
  }
}

function fields(run: RunLifecycleInfo) {
  const ids = { runId: run.runId, userId: run.userId, agent: run.agent, threadId: run.threadId };
  // Written outside the run's own context (its start and end), so its span is named here.
  return run.trace ? { ...ids, trace_id: run.trace.traceId, span_id: run.trace.spanId } : ids;
}
