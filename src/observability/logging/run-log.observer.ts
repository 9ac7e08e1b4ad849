import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Logger as PinoInstance } from 'pino';
import { RunLifecycleHooks, type RunEnding, type RunLifecycleInfo, type RunLifecycleObserver } from '@agent-pipeline/nestjs';
import { HttpRequestLogger } from './http-request.logger';

/**
 * One log line when a run starts (debug) and one when it ends (info, warn when it failed), each
 * with the run id and user id as fields (and, with tracing on, its `trace_id` and `span_id`), so a
 * run's lines can be found by any of them.
 *
 * Written straight to a pino child made once (context `Runs`), not through Nest's logger: these
 * are the only log lines of every run, and the start line is not even built unless debug is on.
 */
@Injectable()
export class RunLogObserver implements RunLifecycleObserver, OnModuleInit, OnModuleDestroy {
  private readonly log: PinoInstance;
  private readonly logsStarts: boolean;
  private stopObserving?: () => void;

  constructor(
    private readonly lifecycle: RunLifecycleHooks,
    logging: HttpRequestLogger,
  ) {
    this.log = logging.logger.child({ context: 'Runs' });
    this.logsStarts = this.log.isLevelEnabled('debug');
  }

  onModuleInit(): void {
    this.stopObserving = this.lifecycle.observe(this);
  }

  onModuleDestroy(): void {
    this.stopObserving?.();
  }

  runStarted(run: RunLifecycleInfo): void {
    if (this.logsStarts) this.log.debug({ msg: `Run started (${run.agent})`, ...fields(run) });
  }

  runEnded(run: RunLifecycleInfo, { outcome, durationMs }: RunEnding): void {
    if (outcome.kind === 'error') {
      this.log.warn({
        msg: `Run failed (${run.agent}): ${outcome.code}: ${outcome.message}`,
        ...fields(run),
        outcome: outcome.kind,
        durationMs,
        code: outcome.code,
      });
    } else {
      this.log.info({ msg: `Run ${outcome.kind} (${run.agent})`, ...fields(run), outcome: outcome.kind, durationMs });
    }
  }
}

function fields(run: RunLifecycleInfo) {
  const ids = { runId: run.runId, userId: run.userId, agent: run.agent, threadId: run.threadId };
  // Written outside the run's own context (its start and end), so its span is named here.
  return run.trace ? { ...ids, trace_id: run.trace.traceId, span_id: run.trace.spanId } : ids;
}
