import { Kysely, sql, type SelectQueryBuilder, type Transaction, type UpdateResult } from 'kysely';
import type { AgentEventEnvelope, RunStatus } from '@agent-pipeline/protocol';
import type { PipelineDatabase } from './run-store.schema';

/** A connection or a transaction of the store: the queries of its parts run on either. */
export type Db = Kysely<PipelineDatabase> | Transaction<PipelineDatabase>;

/**
 * `status in (…)` with the statuses as literals, not bound parameters: only then can SQLite and
 * PostgreSQL match a partial index on the status (`runs_running`, `runs_queued`).
 */
export function statusIn(statuses: readonly RunStatus[], column = 'status') {
  return sql<boolean>`${sql.ref(column)} in (${sql.join(statuses.map((s) => sql.lit(s)))})`;
}

/**
 * Runs `work` in one transaction that holds the write lock from its first statement. SQLite:
 * Kysely holds its one connection for the whole callback, so nothing else of this process (the
 * batch writer included) runs in between, and BEGIN IMMEDIATE makes another process on the same
 * file wait (busy_timeout) instead of both reading and then failing to upgrade. PostgreSQL: a
 * plain transaction, in which callers that need one take an advisory lock first.
 */
export function writeTransaction<T>(db: Kysely<PipelineDatabase>, postgres: boolean, work: (db: Db) => Promise<T>): Promise<T> {
  if (postgres) return db.transaction().execute(work);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await work(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/** The `events` row of an envelope. */
export function eventRow(event: AgentEventEnvelope): { run_id: string; seq: number; type: string; envelope: string } {
  return { run_id: event.runId, seq: event.seq, type: event.type, envelope: JSON.stringify(event) };
}

/**
 * Ends a run in the caller's transaction: `flip` is the update of its row that ends it (guarded by
 * the status it must still have); only if it changed the row is `ending` stored. True when it was,
 * so of racing callers (on any node) exactly one writes the ending.
 */
export async function storeEnding(
  db: Db,
  flip: { executeTakeFirst(): Promise<UpdateResult> },
  ending: AgentEventEnvelope,
): Promise<boolean> {
  const updated = await flip.executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return false;
  await db.insertInto('events').values(eventRow(ending)).execute();
  return true;
}

/**
 * Deletes the events and steps of runs (a list of ids, or a subquery of them), in the caller's
 * transaction, before the runs themselves.
 */
export async function deleteRunChildren(
  db: Db,
  runIds: readonly string[] | SelectQueryBuilder<PipelineDatabase, 'runs', { run_id: string }>,
): Promise<void> {
  await db.deleteFrom('events').where('run_id', 'in', runIds).execute();
  await db.deleteFrom('run_steps').where('run_id', 'in', runIds).execute();
}
