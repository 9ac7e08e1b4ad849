import { Kysely, sql } from 'kysely';
import type { UsageDay } from '@agent-pipeline/protocol';
import type { UsageEntry } from './run-store.interface';
import type { Db } from './run-store.queries';
import type { PipelineDatabase } from './run-store.schema';

/**
 * The usage queries of {@link KyselyRunStore}: each model call adds its tokens to its run's row
 * and to one row of `usage_daily` per (user, UTC day, agent, model), an upsert that concurrent
 * calls on any node add up correctly. A day's total for the budget is one primary-key range read.
 */
export class KyselyUsageQueries {
  constructor(private readonly db: Kysely<PipelineDatabase>) {}

  async record(entry: UsageEntry): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await addToRun(trx, entry);
      await trx
        .insertInto('usage_daily')
        .values({
          user_id: entry.userId,
          day: entry.day,
          agent: entry.agent,
          model: entry.model,
          input_tokens: entry.inputTokens,
          output_tokens: entry.outputTokens,
          runs: entry.newRun ? 1 : 0,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'day', 'agent', 'model']).doUpdateSet((eb) => ({
            input_tokens: eb('usage_daily.input_tokens', '+', eb.ref('excluded.input_tokens')),
            output_tokens: eb('usage_daily.output_tokens', '+', eb.ref('excluded.output_tokens')),
            runs: eb('usage_daily.runs', '+', eb.ref('excluded.runs')),
          })),
        )
        .execute();
    });
  }

  async days(userId: string, from: string, to: string): Promise<UsageDay[]> {
    const rows = await this.db
      .selectFrom('usage_daily')
      .select(['day', 'agent', 'model', 'input_tokens', 'output_tokens', 'runs'])
      .where('user_id', '=', userId)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('day', 'asc')
      .orderBy('agent', 'asc')
      .orderBy('model', 'asc')
      .execute();
    return rows.map((r) => ({
      day: r.day,
      agent: r.agent,
      model: r.model,
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      runs: Number(r.runs),
    }));
  }

  async tokensOn(userId: string, day: string): Promise<number> {
    const row = await this.db
      .selectFrom('usage_daily')
      .select(sql<number | string | null>`sum(${sql.ref('input_tokens')} + ${sql.ref('output_tokens')})`.as('used'))
      .where('user_id', '=', userId)
      .where('day', '=', day)
      .executeTakeFirst();
    return Number(row?.used ?? 0);
  }
}

function addToRun(db: Db, entry: UsageEntry) {
  return db
    .updateTable('runs')
    .set((eb) => ({
      input_tokens: eb(eb.fn.coalesce('input_tokens', sql.lit(0)), '+', entry.inputTokens),
      output_tokens: eb(eb.fn.coalesce('output_tokens', sql.lit(0)), '+', entry.outputTokens),
    }))
    .where('run_id', '=', entry.runId)
    .execute();
}
