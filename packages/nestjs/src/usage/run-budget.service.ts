import { Inject, Injectable } from '@nestjs/common';
import type { UsageBudget } from '@agent-pipeline/protocol';
import type { RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS, RUN_STORE } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { RunStore } from '../store/run-store.interface';
import { secondsUntilUtcMidnight, utcDay } from './utc-day';

/**
 * The daily token budget of each user (`MAX_TOKENS_PER_USER_PER_DAY`): a user whose input +
 * output tokens of the UTC day (all nodes: read from the store) reached it gets `QUOTA_EXCEEDED`
 * for new runs of agents declared `callsModel`. Other agents, and runs already admitted, go on.
 * The budget bounds what one user spends; it is not exact to the token (runs that started before
 * it was reached may pass it).
 */
@Injectable()
export class RunBudget {
  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Inject(RUN_STORE) private readonly store: RunStore,
  ) {}

  /**
   * Refuses a new run with `QUOTA_EXCEEDED` when its agent calls a model and the user's budget is
   * spent. Undefined (no promise, no I/O) when there is nothing to check.
   */
  check(userId: string, agent: RegisteredAgent): Promise<void> | undefined {
    const limit = this.options.maxTokensPerUserPerDay;
    if (limit === 0 || agent.options.callsModel !== true) return undefined;
    return this.store.tokensUsedOn(userId, utcDay()).then((usedToday) => {
      if (usedToday < limit) return;
      throw new PipelineError(
        'QUOTA_EXCEEDED',
        `You have used ${usedToday} model tokens today; the daily budget is ${limit} (MAX_TOKENS_PER_USER_PER_DAY). ` +
          `Agent '${agent.options.name}' calls a model, so it can run again after 00:00 UTC; agents that call no model still run.`,
        { limit, usedToday },
        secondsUntilUtcMidnight(),
      );
    });
  }

  /** The budget and the user's usage of today. */
  async budget(userId: string): Promise<UsageBudget> {
    return { limit: this.options.maxTokensPerUserPerDay, usedToday: await this.store.tokensUsedOn(userId, utcDay()) };
  }
}
