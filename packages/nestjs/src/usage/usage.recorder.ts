import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RunUsage } from '@agent-pipeline/protocol';
import { AgentPipelineMetrics } from '../observability/metrics/agent-pipeline.metrics';
import { RUN_STORE } from '../pipeline.tokens';
import type { RunStore } from '../store/run-store.interface';
import { utcDay } from './utc-day';

/** The run a model call belongs to. */
export interface ObservedRun {
  readonly runId: string;
  readonly userId: string;
  readonly agent: string;
  readonly threadId: string;
  /** The W3C trace context the run continues (stored with it). */
  readonly traceparent?: string;
}

/** Where a run's model calls are counted. */
export interface ModelUsageSink {
  /** Counts one model call's tokens; never rejects. */
  record(run: ObservedRun, model: string, tokens: RunUsage): Promise<void>;
}

/**
 * Counts each model call's tokens: the token metric on this node, and in the store the run's
 * `usage` and the user's usage of the UTC day (per agent and model), which `GET /usage` reads and
 * the daily budget is checked against on every node. A store that fails loses the count of that
 * call (logged) but never the run.
 */
@Injectable()
export class UsageRecorder implements ModelUsageSink {
  private readonly logger = new Logger(UsageRecorder.name);
  /** The (day, model) pairs each run has been counted under, so a run counts once per pair in `runs`. */
  private readonly counted = new WeakMap<ObservedRun, Set<string>>();

  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly metrics: AgentPipelineMetrics,
  ) {}

  async record(run: ObservedRun, model: string, tokens: RunUsage): Promise<void> {
    this.metrics.tokensUsed(run.agent, model, tokens.inputTokens, tokens.outputTokens);
    const day = utcDay();
    let seen = this.counted.get(run);
    if (!seen) this.counted.set(run, (seen = new Set()));
    const key = `${day}\u0000${model}`;
    const newRun = !seen.has(key);
    seen.add(key);
    try {
      await this.store.recordUsage({ ...tokens, runId: run.runId, userId: run.userId, agent: run.agent, model, day, newRun });
    } catch (err) {
      this.logger.warn({
        msg: `Token usage of a model call not stored (${tokens.inputTokens}+${tokens.outputTokens} tokens): ${(err as Error).message}`,
        runId: run.runId,
        userId: run.userId,
      });
    }
  }
}
