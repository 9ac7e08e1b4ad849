import type { Database as SqliteDatabase } from 'better-sqlite3';
import { Kysely, Migrator, Selectable, sql } from 'kysely';
import {
  type AgentEventEnvelope,
  type RunStatus,
  EXECUTING_STATUSES,
  IN_FLIGHT_STATUSES,
  isTerminalEventType,
  type UsageDay,
} from '@agent-pipeline/protocol';
import { InCodeMigrationProvider } from './run-store.migrations';
import { outcomeColumns, runRow, stepFromRow, stepRow, waitingTransition } from './run-store.rows';
import type { StepRecord } from '../durable/durable-step.types';
import type { PipelineDatabase, RunsTable } from './run-store.schema';
import { SqliteBatchWriter } from './sqlite-batch.writer';
import { KyselyThreadQueries, KyselyThreadTransaction } from './run-store.threads';
import { deleteRunChildren, eventRow, statusIn, storeEnding, writeTransaction, type Db } from './run-store.queries';
import { KyselyIdempotencyQueries } from './run-store.idempotency';
import { KyselyUsageQueries } from './run-store.usage';
import {
  RELEASED_LEASE,
  type CancelledQueuedRun,
  type IdempotencyClaim,
  type IdempotentRun,
  type InterruptScope,
  type InterruptedRun,
  type ListCursor,
  type ListRunsQuery,
  type ListThreadsQuery,
  type NewRun,
  type OrphanEnding,
  type PruneBatch,
  type ReadyThread,
  type ResumableRun,
  type ResumeScope,
  type RunRecord,
  type RunStore,
  type ThreadRun,
  type ThreadSummary,
  type ThreadTransaction,
  type UsageEntry,
  type WriteBatch,
} from './run-store.interface';

/** Rows per INSERT: well under SQLite's bound-parameter limit at 4 columns a row. */
const INSERT_CHUNK = 200;

/**
 * `status in ('running', 'waiting')` with literals, not bound parameters: only then can SQLite and
 * PostgreSQL prove that a query's rows are in the partial index `runs_running`.
 */
const executing = () => statusIn(EXECUTING_STATUSES);

const INTERRUPTED_MESSAGE = 'The server executing this run stopped before it finished.';

/** Options of {@link KyselyRunStore}. */
export interface KyselyRunStoreOptions {
  /**
   * The database behind `db`. On `postgres` the migration bookkeeping tables are kept in the
   * connection's current schema (the first of its `search_path`), next to `runs` and `events`.
   * @default 'sqlite'
   */
  dialect?: 'sqlite' | 'postgres';
  /**
   * The better-sqlite3 database behind `db`, when it is one: {@link KyselyRunStore.write} then
   * uses prepared statements on it (see {@link SqliteBatchWriter}) instead of Kysely's builder.
   */
  sqlite?: SqliteDatabase;
  /** Stopped by {@link KyselyRunStore.close}, before the database is closed. */
  checkpointer?: { close(): Promise<void> };
}

/**
 * The run store over Kysely. The same queries run on SQLite and PostgreSQL; only the dialect differs.
 */
export class KyselyRunStore implements RunStore {
  /** Prepared on the first write: its statements need the migrated tables. */
  private sqliteWriter?: SqliteBatchWriter;

  constructor(
    private readonly db: Kysely<PipelineDatabase>,
    private readonly options: KyselyRunStoreOptions = {},
  ) {}

  async migrate(): Promise<void> {
    // Without an explicit schema, Kysely's migrator takes a `kysely_migration` table in *any*
    // schema of the database as its own: a store in a second schema would then skip its
    // migrations (or fail on the lock table) because another schema was migrated first.
    const migrationTableSchema = this.postgres ? await this.currentSchema() : undefined;
    const migrator = new Migrator({ db: this.db, provider: new InCodeMigrationProvider(), migrationTableSchema });
    const { error } = await migrator.migrateToLatest();
    if (error) throw new Error(`Run store migration failed: ${(error as Error).message ?? String(error)}`);
  }

  async createRun(run: NewRun): Promise<void> {
    await this.db.insertInto('runs').values(runRow(run)).execute();
  }

  createIdempotentRun(run: NewRun & { idempotency: IdempotencyClaim }, freshAfter: Date): Promise<IdempotentRun | undefined> {
    return this.inUserTransaction(run.userId, async (db) => {
      const holder = await new KyselyIdempotencyQueries(db).claimable(run.userId, run.idempotency.key, freshAfter);
      if (holder) return holder;
      await db.insertInto('runs').values(runRow(run)).execute();
      return undefined;
    });
  }

  findIdempotentRun(userId: string, key: string, freshAfter: Date): Promise<IdempotentRun | undefined> {
    return new KyselyIdempotencyQueries(this.db).find(userId, key, freshAfter);
  }

  async deleteRun(runId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await deleteRunChildren(trx, [runId]);
      await trx.deleteFrom('runs').where('run_id', '=', runId).execute();
    });
  }

  appendEvents(events: readonly AgentEventEnvelope[]): Promise<void> {
    return this.write({ runs: [], events });
  }

  async write(batch: WriteBatch): Promise<void> {
    if (batch.runs.length === 0 && batch.events.length === 0 && !batch.steps?.length) return;
    const sqlite = this.options.sqlite;
    if (sqlite) {
      // Holding Kysely's connection keeps this transaction from landing inside one of Kysely's
      // own (they span several awaits on the one SQLite connection).
      await this.db.connection().execute(async () => {
        this.sqliteWriter ??= new SqliteBatchWriter(sqlite);
        this.sqliteWriter.write(batch);
      });
      return;
    }
    const { runs, events, steps = [] } = batch;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < steps.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('run_steps')
          .values(steps.slice(i, i + INSERT_CHUNK).map(stepRow))
          .onConflict((oc) => oc.columns(['run_id', 'name']).doNothing())
          .execute();
      }
      for (let i = 0; i < runs.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('runs')
          .values(runs.slice(i, i + INSERT_CHUNK).map((run) => runRow(run)))
          // A retried batch may carry runs already written.
          .onConflict((oc) => oc.column('run_id').doNothing())
          .execute();
      }
      for (let i = 0; i < events.length; i += INSERT_CHUNK) {
        const chunk = events.slice(i, i + INSERT_CHUNK);
        await trx
          .insertInto('events')
          .values(chunk.map(eventRow))
          // A retried flush may carry events already written: (run_id, seq) makes it idempotent.
          .onConflict((oc) => oc.columns(['run_id', 'seq']).doNothing())
          .execute();
      }
      for (const e of events) {
        const waiting = waitingTransition(e.type);
        if (waiting) {
          await trx
            .updateTable('runs')
            .set({ status: waiting.to })
            .where('run_id', '=', e.runId)
            .where('status', '=', sql.lit(waiting.from))
            .execute();
          continue;
        }
        if (!isTerminalEventType(e.type)) continue;
        await trx.updateTable('runs').set(outcomeColumns(e.type, e)).where('run_id', '=', e.runId).where(executing()).execute();
      }
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = await this.selectRuns().where('run_id', '=', runId).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    let q = this.selectRuns().where('user_id', '=', userId);
    if (query.status) q = q.where('status', '=', query.status);
    if (query.threadId) q = q.where('thread_id', '=', query.threadId);
    if (query.agent) q = q.where('agent', '=', query.agent);
    if (query.before) q = q.where(sortsBefore('runs', query.before));
    const rows = await q.orderBy('created_at', 'desc').orderBy('run_id', 'desc').limit(query.limit).execute();
    return rows.map(toRecord);
  }

  async listThreads(userId: string, query: ListThreadsQuery): Promise<ThreadSummary[]> {
    // Walks the user's runs newest first (an index range, see the EXPLAIN test) and keeps each
    // thread's latest run, with one index probe per run read. It stops once the page is full, so
    // the cost is the runs newer than the page's last thread: small while threads are many and
    // short; a user with a few very long threads reads more (measured: 100,000 runs, 99,900 of
    // them in one thread, 21 threads in 16 ms on SQLite). A table of threads kept up to date on
    // every run insert would bound it, at a write on the hot path.
    let q = this.db
      .selectFrom('runs as r')
      .select(['r.thread_id', 'r.run_id', 'r.created_at', 'r.status', 'r.agent'])
      .select((eb) => [
        eb
          .selectFrom('runs as c')
          .select((c) => c.fn.countAll<string | number>().as('n'))
          .where(sameThreadAsR('c'))
          .as('runs'),
        eb
          .selectFrom('runs as f')
          .select('f.input')
          .where(sameThreadAsR('f'))
          .orderBy('f.created_at', 'asc')
          .orderBy('f.run_id', 'asc')
          .limit(1)
          .as('first_input'),
      ])
      .where('r.user_id', '=', userId)
      // A scalar subquery with LIMIT 1 rather than NOT EXISTS: PostgreSQL may turn an anti-join
      // into a hash join over the whole table; this stays one index probe per row.
      .whereRef('r.run_id', '=', (eb) =>
        eb
          .selectFrom('runs as l')
          .select('l.run_id')
          .where(sameThreadAsR('l'))
          .orderBy('l.created_at', 'desc')
          .orderBy('l.run_id', 'desc')
          .limit(1),
      );
    if (query.before) q = q.where(sortsBefore('r', query.before));
    const rows = await q.orderBy('r.created_at', 'desc').orderBy('r.run_id', 'desc').limit(query.limit).execute();
    return rows.map((row) => ({
      threadId: row.thread_id,
      firstInput: row.first_input === null || row.first_input === undefined ? null : JSON.parse(row.first_input as string),
      agent: row.agent,
      runs: Number(row.runs),
      lastRunAt: row.created_at,
      lastStatus: row.status as RunStatus,
      lastRunId: row.run_id,
    }));
  }

  async threadRuns(userId: string, threadId: string): Promise<RunRecord[]> {
    const rows = await this.selectRuns()
      .where('thread_id', '=', threadId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .orderBy('run_id', 'asc')
      .execute();
    return rows.map(toRecord);
  }

  async pruneFinishedRuns(finishedBefore: Date, limit: number): Promise<PruneBatch> {
    const cutoff = finishedBefore.toISOString();
    const prune = async (db: Db): Promise<number> => {
      const victims = await db
        .selectFrom('runs')
        .select('run_id')
        .where('finished_at', 'is not', null)
        .where('finished_at', '<', cutoff)
        .where((eb) => eb.not(statusIn(IN_FLIGHT_STATUSES)))
        .orderBy('finished_at', 'asc')
        .limit(limit)
        .execute();
      if (victims.length === 0) return 0;
      const ids = victims.map((v) => v.run_id);
      await deleteRunChildren(db, ids);
      await db.deleteFrom('runs').where('run_id', 'in', ids).execute();
      return ids.length;
    };
    // One pruner at a time: SQLite's write lock (two processes on one file wait for each other),
    // PostgreSQL's advisory lock, which a node that does not get it leaves to the one that has it.
    return writeTransaction(this.db, this.postgres, async (db) => {
      if (this.postgres) {
        // Per schema, so that stores sharing a server but not their tables never wait for each other.
        const { rows } = await sql<{ locked: boolean }>`
          select pg_try_advisory_xact_lock(hashtextextended('agent-pipeline:retention:' || current_schema(), 0)) as locked`.execute(db);
        if (!rows[0]?.locked) return { deleted: 0, lockedElsewhere: true };
      }
      return { deleted: await prune(db) };
    });
  }

  async reclaimSpace(maxPages: number): Promise<number> {
    const sqlite = this.options.sqlite;
    if (!sqlite || sqlite.memory) return 0;
    return this.db.connection().execute(async () => {
      const before = Number(sqlite.pragma('freelist_count', { simple: true }));
      if (before === 0) return 0;
      // Only files created with auto_vacuum = INCREMENTAL (run-store.factory.ts) can give pages
      // back this way; older files keep their free pages and reuse them for new rows.
      sqlite.pragma(`incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`);
      return before - Number(sqlite.pragma('freelist_count', { simple: true }));
    });
  }

  async getEvents(runId: string, afterSeq: number, limit?: number): Promise<AgentEventEnvelope[]> {
    let q = this.selectEvents(runId).where('seq', '>', afterSeq).orderBy('seq', 'asc');
    if (limit !== undefined) q = q.limit(limit);
    return toEnvelopes(await q.execute());
  }

  async getEventsOfType(runId: string, type: AgentEventEnvelope['type']): Promise<AgentEventEnvelope[]> {
    return toEnvelopes(await this.selectEvents(runId).where('type', '=', type).orderBy('seq', 'asc').execute());
  }

  countRunning(userId: string): Promise<number> {
    return new KyselyThreadQueries(this.db).countExecuting(userId);
  }

  async renewLeases(nodeId: string, leaseUntil: Date): Promise<void> {
    const renew = this.db.updateTable('runs').set({ lease_until: leaseUntil.toISOString() });
    if (!this.postgres) {
      // SQLite runs one transaction at a time: nothing to lock around.
      await renew.where('node_id', '=', nodeId).where(executing()).execute();
      return;
    }
    // Rows locked by a concurrent write are runs being finished: skip them rather than wait.
    // Waiting let this statement and a write that finishes several runs lock the same rows in
    // opposite orders, and PostgreSQL aborted one of them as a deadlock.
    await renew
      .where('run_id', 'in', (eb) =>
        eb.selectFrom('runs').select('run_id').where('node_id', '=', nodeId).where(executing()).forUpdate().skipLocked(),
      )
      .execute();
  }

  async interruptRuns(scope: InterruptScope): Promise<InterruptedRun[]> {
    let q = this.selectRuns().where(executing()).where('durable', '=', 0);
    if (scope.kind === 'lease-expired') q = q.where('lease_until', '<', scope.now.toISOString());
    if (scope.kind === 'node') q = q.where('node_id', '=', scope.nodeId);
    const candidates = await q.execute();
    const stored: InterruptedRun[] = [];
    for (const row of candidates) {
      const ending: OrphanEnding = { type: 'agent_error', data: { code: 'INTERRUPTED', message: INTERRUPTED_MESSAGE } };
      const event = await this.finishExecuting(row, ending);
      if (event) stored.push({ userId: row.user_id, event });
    }
    return stored;
  }

  async resumableRuns(scope: ResumeScope): Promise<ResumableRun[]> {
    let q = this.db.selectFrom('runs').selectAll().where(executing()).where('durable', '=', 1);
    if (scope.kind === 'lease-expired') q = q.where('lease_until', '<', scope.now.toISOString());
    if (scope.kind === 'run') q = q.where('run_id', '=', scope.runId);
    const rows = await q.orderBy('created_at', 'asc').execute();
    return rows.map((row) => ({
      runId: row.run_id,
      threadId: row.thread_id,
      userId: row.user_id,
      agent: row.agent,
      status: row.status as ResumableRun['status'],
      input: JSON.parse(row.input),
      createdAt: row.created_at,
      nodeId: row.node_id,
      leaseUntil: row.lease_until,
      ...(row.traceparent ? { traceparent: row.traceparent } : {}),
    }));
  }

  async claimRun(run: Pick<ResumableRun, 'runId' | 'nodeId' | 'leaseUntil'>, nodeId: string, leaseUntil: Date): Promise<boolean> {
    const updated = await this.db
      .updateTable('runs')
      .set({ node_id: nodeId, lease_until: leaseUntil.toISOString() })
      .where('run_id', '=', run.runId)
      .where('node_id', '=', run.nodeId)
      .where('lease_until', '=', run.leaseUntil)
      .where(executing())
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async releaseLeases(nodeId: string, runIds: readonly string[]): Promise<void> {
    for (let i = 0; i < runIds.length; i += INSERT_CHUNK) {
      await this.db
        .updateTable('runs')
        .set({ lease_until: RELEASED_LEASE })
        .where('run_id', 'in', runIds.slice(i, i + INSERT_CHUNK))
        .where('node_id', '=', nodeId)
        .where(executing())
        .execute();
    }
  }

  async endRun(runId: string, nodeId: string, ending: OrphanEnding): Promise<InterruptedRun | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('run_id', '=', runId).where('node_id', '=', nodeId).executeTakeFirst();
    if (!row) return undefined;
    const event = await this.finishExecuting(row, ending, nodeId);
    return event ? { userId: row.user_id, event } : undefined;
  }

  async getSteps(runId: string): Promise<StepRecord[]> {
    const rows = await this.db.selectFrom('run_steps').selectAll().where('run_id', '=', runId).orderBy('seq', 'asc').execute();
    return rows.map(stepFromRow);
  }

  /**
   * Ends an executing run with `ending`, stored after its last event, in one transaction; only
   * the first caller to flip its status (on any node) writes the event.
   */
  private finishExecuting(
    row: Pick<RunsTable, 'run_id' | 'thread_id' | 'agent'>,
    ending: OrphanEnding,
    nodeId?: string,
  ): Promise<AgentEventEnvelope | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const ts = new Date().toISOString();
      const last = await trx
        .selectFrom('events')
        .select((eb) => eb.fn.max<number | null>('seq').as('seq'))
        .where('run_id', '=', row.run_id)
        .executeTakeFirst();
      const envelope = {
        runId: row.run_id,
        threadId: row.thread_id,
        seq: Number(last?.seq ?? 0) + 1,
        type: ending.type,
        agent: row.agent,
        ts,
        data: ending.data,
      } as AgentEventEnvelope;
      let flip = trx.updateTable('runs').set(outcomeColumns(ending.type, envelope)).where('run_id', '=', row.run_id).where(executing());
      if (nodeId !== undefined) flip = flip.where('node_id', '=', nodeId);
      return (await storeEnding(trx, flip, envelope)) ? envelope : undefined;
    });
  }

  withThread<T>(userId: string, threadId: string, work: (tx: ThreadTransaction) => Promise<T>): Promise<T> {
    return this.inUserTransaction(userId, (db) => work(new KyselyThreadTransaction(db, userId, threadId)));
  }

  /**
   * Runs `work` in one transaction that no other of the same user overlaps, on any node (see
   * {@link withThread}): thread admissions and idempotency-key claims of a user come out in one order.
   */
  private inUserTransaction<T>(userId: string, work: (db: Db) => Promise<T>): Promise<T> {
    // SQLite: the write lock, so that another process on the same file waits instead of both
    // reading an empty thread (see writeTransaction).
    return writeTransaction(this.db, this.postgres, async (db) => {
      if (this.postgres) {
        // One lock per user, held to the end of the transaction: the admissions and starts of a
        // user's threads are serialized across nodes (a per-user lock also keeps the user's
        // concurrency count exact when two threads start runs at once).
        await sql`select pg_advisory_xact_lock(hashtextextended(${`agent-pipeline:user:${userId}`}, 0))`.execute(db);
      }
      return work(db);
    });
  }

  private get postgres(): boolean {
    return this.options.dialect === 'postgres';
  }

  cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined> {
    return this.db.transaction().execute((trx) => new KyselyThreadQueries(trx).cancelQueued(runId, reason));
  }

  threadInFlight(userId: string, threadId: string): Promise<ThreadRun[]> {
    return new KyselyThreadQueries(this.db).inFlight(userId, threadId);
  }

  readyThreads(limit: number): Promise<ReadyThread[]> {
    return new KyselyThreadQueries(this.db).readyThreads(limit);
  }

  countQueued(): Promise<number> {
    return new KyselyThreadQueries(this.db).countQueued();
  }

  private async currentSchema(): Promise<string> {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(this.db);
    const schema = rows[0]?.schema;
    if (!schema) {
      throw new Error('Run store migration failed: no schema of the search_path exists. Create it, or fix the search_path.');
    }
    return schema;
  }

  recordUsage(entry: UsageEntry): Promise<void> {
    return new KyselyUsageQueries(this.db).record(entry);
  }

  usageDays(userId: string, from: string, to: string): Promise<UsageDay[]> {
    return new KyselyUsageQueries(this.db).days(userId, from, to);
  }

  tokensUsedOn(userId: string, day: string): Promise<number> {
    return new KyselyUsageQueries(this.db).tokensOn(userId, day);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.options.checkpointer?.close();
    await this.db.destroy();
  }

  private selectEvents(runId: string) {
    return this.db.selectFrom('events').select('envelope').where('run_id', '=', runId);
  }

  private selectRuns() {
    return this.db
      .selectFrom('runs')
      .selectAll('runs')
      .select((eb) =>
        eb
          .selectFrom('events')
          .select((e) => e.fn.max<number | null>('events.seq').as('m'))
          .whereRef('events.run_id', '=', 'runs.run_id')
          .as('last_seq'),
      );
  }
}

/** The runs `alias` of a listing's subquery are those of the thread of its row `r` (one index range). */
function sameThreadAsR(alias: 'c' | 'f' | 'l') {
  return sql<boolean>`${sql.ref(`${alias}.thread_id`)} = ${sql.ref('r.thread_id')} and ${sql.ref(`${alias}.user_id`)} = ${sql.ref('r.user_id')}`;
}

/** `(created_at, run_id) < (cursor)`: what a newest-first listing shows after the cursor. */
function sortsBefore(table: string, cursor: ListCursor) {
  return sql<boolean>`(${sql.ref(`${table}.created_at`)}, ${sql.ref(`${table}.run_id`)}) < (${cursor.createdAt}, ${cursor.runId})`;
}

function toEnvelopes(rows: readonly { envelope: string }[]): AgentEventEnvelope[] {
  return rows.map((r) => JSON.parse(r.envelope) as AgentEventEnvelope);
}

function toRecord(row: Selectable<RunsTable> & { last_seq: number | string | null }): RunRecord {
  const record: RunRecord = {
    runId: row.run_id,
    threadId: row.thread_id,
    userId: row.user_id,
    agent: row.agent,
    status: row.status as RunStatus,
    input: JSON.parse(row.input),
    createdAt: row.created_at,
    lastSeq: Number(row.last_seq ?? 0),
    nodeId: row.node_id,
  };
  if (row.result !== null) record.result = JSON.parse(row.result);
  if (row.error !== null) record.error = JSON.parse(row.error);
  if (row.finished_at !== null) record.finishedAt = row.finished_at;
  if (row.input_tokens !== null && row.input_tokens !== undefined) {
    record.usage = { inputTokens: Number(row.input_tokens), outputTokens: Number(row.output_tokens ?? 0) };
  }
  if (row.traceparent) record.traceparent = row.traceparent;
  return record;
}
