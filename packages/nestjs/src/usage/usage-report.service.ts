import { Inject, Injectable } from '@nestjs/common';
import type { UsageReport } from '@agent-pipeline/protocol';
import { PipelineError } from '../errors/pipeline.error';
import { RUN_STORE } from '../pipeline.tokens';
import type { RunStore } from '../store/run-store.interface';
import { RunBudget } from './run-budget.service';
import { addDays, isUtcDay, utcDay } from './utc-day';

/** The days `GET /usage` covers without `from`: today and the 29 before it. */
export const DEFAULT_USAGE_DAYS = 30;
/** The most days one `GET /usage` may cover. */
export const MAX_USAGE_DAYS = 366;

/** A user's model usage per UTC day, agent and model, with the daily budget (`GET /usage`). */
@Injectable()
export class UsageReports {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly budget: RunBudget,
  ) {}

  /**
   * The report of `from` to `to` (inclusive, `YYYY-MM-DD`, UTC). Without `to`: today; without
   * `from`: {@link DEFAULT_USAGE_DAYS} days up to `to`. `VALIDATION_FAILED` for a day that is no
   * calendar day, `from` after `to`, or more than {@link MAX_USAGE_DAYS} days.
   */
  async report(userId: string, range: { from?: string; to?: string } = {}): Promise<UsageReport> {
    const to = range.to ?? utcDay();
    const from = range.from ?? addDays(to, -(DEFAULT_USAGE_DAYS - 1));
    for (const [field, value] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (!isUtcDay(value)) throw invalid(field, `${field} must be a day written YYYY-MM-DD (UTC), e.g. ${utcDay()}`);
    }
    if (from > to) throw invalid('from', `from (${from}) is after to (${to})`);
    if (addDays(from, MAX_USAGE_DAYS - 1) < to) throw invalid('from', `from to to spans more than ${MAX_USAGE_DAYS} days`);
    const [days, budget] = await Promise.all([this.store.usageDays(userId, from, to), this.budget.budget(userId)]);
    return { days, budget };
  }
}

function invalid(field: string, message: string): PipelineError {
  return new PipelineError('VALIDATION_FAILED', `Invalid usage query: ${message}.`, { fields: [{ field, errors: [message] }] });
}
