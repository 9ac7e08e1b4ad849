import type { RunStatus } from '@agent-pipeline/protocol';
import type { IdempotentRun } from './run-store.interface';
import type { Db } from './run-store.queries';

/**
 * The idempotency-key queries of the run store (a key is a column of its run, unique per user).
 * A key older than its time to live no longer names its run; {@link claimable} clears it from
 * that run, so the unique index lets a new run take it.
 */
export class KyselyIdempotencyQueries {
  constructor(private readonly db: Db) {}

  /** The run the user's `key` names, if it was created at or after `freshAfter`. */
  async find(userId: string, key: string, freshAfter: Date): Promise<IdempotentRun | undefined> {
    const holder = await this.holder(userId, key);
    return holder && holder.createdAt >= freshAfter.toISOString() ? holder.run : undefined;
  }

  /** Like {@link find}, and an expired holder gives the key up. Call inside the claiming transaction. */
  async claimable(userId: string, key: string, freshAfter: Date): Promise<IdempotentRun | undefined> {
    const holder = await this.holder(userId, key);
    if (!holder) return undefined;
    if (holder.createdAt >= freshAfter.toISOString()) return holder.run;
    await this.db
      .updateTable('runs')
      .set({ idempotency_key: null, idempotency_fingerprint: null })
      .where('run_id', '=', holder.run.runId)
      .execute();
    return undefined;
  }

  private async holder(userId: string, key: string): Promise<{ run: IdempotentRun; createdAt: string } | undefined> {
    const row = await this.db
      .selectFrom('runs')
      .select(['run_id', 'thread_id', 'status', 'created_at', 'idempotency_fingerprint'])
      .where('user_id', '=', userId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      run: { runId: row.run_id, threadId: row.thread_id, status: row.status as RunStatus, fingerprint: row.idempotency_fingerprint ?? '' },
      createdAt: row.created_at,
    };
  }
}
