import { sql } from 'kysely';
import { type AgentEventEnvelope, type RunStatus, EXECUTING_STATUSES, IN_FLIGHT_STATUSES } from '@agent-pipeline/protocol';
import { runRow } from './run-store.rows';
import type { CancelledQueuedRun, IdempotentRun, NewRun, ReadyThread, ThreadRun, ThreadTransaction } from './run-store.interface';
import { KyselyIdempotencyQueries } from './run-store.idempotency';
import { deleteRunChildren, statusIn, storeEnding, type Db } from './run-store.queries';

/** The thread queries of {@link KyselyRunStore}, shared by its transactions and its plain reads. */
export class KyselyThreadQueries {
  constructor(private readonly db: Db) {}

  async inFlight(userId: string, threadId: string): Promise<ThreadRun[]> {
    const rows = await this.db
      .selectFrom('runs')
      .select(['run_id', 'agent', 'status', 'thread_seq', 'node_id', 'created_at'])
      .where('thread_id', '=', threadId)
      .where('user_id', '=', userId)
      .where(statusIn(IN_FLIGHT_STATUSES))
      .orderBy('thread_seq', 'asc')
      .orderBy('created_at', 'asc')
      .execute();
    return rows.map((r) => ({
      runId: r.run_id,
      agent: r.agent,
      status: r.status as RunStatus,
      threadSeq: Number(r.thread_seq),
      nodeId: r.node_id,
      createdAt: r.created_at,
    }));
  }

  /** The user's runs executing on any node (`running` or `waiting`): a range of `runs_running`. */
  async countExecuting(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('user_id', '=', userId)
      .where(statusIn(EXECUTING_STATUSES))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insert(run: NewRun): Promise<number> {
    const last = await this.db
      .selectFrom('runs')
      .select((eb) => eb.fn.max<number | string | null>('thread_seq').as('m'))
      .where('thread_id', '=', run.threadId)
      .where('user_id', '=', run.userId)
      .executeTakeFirst();
    const threadSeq = Number(last?.m ?? 0) + 1;
    await this.db
      .insertInto('runs')
      .values(runRow({ ...run, threadSeq }))
      .execute();
    return threadSeq;
  }

  async claim(runId: string, nodeId: string, leaseUntil: Date): Promise<boolean> {
    const updated = await this.db
      .updateTable('runs')
      .set({ status: 'running', node_id: nodeId, lease_until: leaseUntil.toISOString() })
      .where('run_id', '=', runId)
      .where('status', '=', sql.lit('queued'))
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  /** Call inside a transaction: the status flip and the event go together. */
  async cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined> {
    const row = await this.db
      .selectFrom('runs')
      .select(['run_id', 'thread_id', 'user_id', 'agent'])
      .where('run_id', '=', runId)
      .executeTakeFirst();
    if (!row) return undefined;
    const ts = new Date().toISOString();
    const event: AgentEventEnvelope<'agent_cancelled'> = {
      runId,
      threadId: row.thread_id,
      seq: 1,
      type: 'agent_cancelled',
      agent: row.agent,
      ts,
      data: { reason },
    };
    const flip = this.db
      .updateTable('runs')
      .set({ status: 'cancelled', finished_at: ts })
      .where('run_id', '=', runId)
      .where('status', '=', sql.lit('queued'));
    return (await storeEnding(this.db, flip, event)) ? { userId: row.user_id, event } : undefined;
  }

  /** Call inside a transaction: the events and the runs go together. */
  async deleteThread(userId: string, threadId: string): Promise<number> {
    await deleteRunChildren(
      this.db,
      this.db.selectFrom('runs').select('run_id').where('thread_id', '=', threadId).where('user_id', '=', userId),
    );
    const deleted = await this.db.deleteFrom('runs').where('thread_id', '=', threadId).where('user_id', '=', userId).executeTakeFirst();
    return Number(deleted.numDeletedRows);
  }

  async readyThreads(limit: number): Promise<ReadyThread[]> {
    const rows = await this.db
      .selectFrom('runs as q')
      .select(['q.user_id', 'q.thread_id'])
      .select((eb) => eb.fn.min<string>('q.created_at').as('since'))
      .where('q.status', '=', sql.lit('queued'))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('runs as r')
              .select('r.run_id')
              .whereRef('r.thread_id', '=', 'q.thread_id')
              .whereRef('r.user_id', '=', 'q.user_id')
              .where(statusIn(EXECUTING_STATUSES, 'r.status')),
          ),
        ),
      )
      .groupBy(['q.user_id', 'q.thread_id'])
      .orderBy('since', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ userId: r.user_id, threadId: r.thread_id }));
  }

  async countQueued(): Promise<number> {
    const row = await this.db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('status', '=', sql.lit('queued'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

/** {@link ThreadTransaction} over one Kysely transaction. */
export class KyselyThreadTransaction implements ThreadTransaction {
  private readonly queries: KyselyThreadQueries;

  constructor(
    private readonly trx: Db,
    private readonly userId: string,
    private readonly threadId: string,
  ) {
    this.queries = new KyselyThreadQueries(trx);
  }

  idempotentRun(key: string, freshAfter: Date): Promise<IdempotentRun | undefined> {
    return new KyselyIdempotencyQueries(this.trx).claimable(this.userId, key, freshAfter);
  }

  inFlight(): Promise<ThreadRun[]> {
    return this.queries.inFlight(this.userId, this.threadId);
  }

  countExecuting(): Promise<number> {
    return this.queries.countExecuting(this.userId);
  }

  insert(run: NewRun): Promise<number> {
    if (run.userId !== this.userId || run.threadId !== this.threadId) {
      throw new Error(`ThreadTransaction of thread ${this.threadId} (user ${this.userId}) cannot insert a run of another thread.`);
    }
    return this.queries.insert(run);
  }

  claim(runId: string, nodeId: string, leaseUntil: Date): Promise<boolean> {
    return this.queries.claim(runId, nodeId, leaseUntil);
  }

  cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined> {
    return this.queries.cancelQueued(runId, reason);
  }

  deleteAll(): Promise<number> {
    return this.queries.deleteThread(this.userId, this.threadId);
  }
}
