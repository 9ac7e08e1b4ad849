import { Kysely, Migration, MigrationProvider, sql } from 'kysely';

/** Schema history. Append new migrations; never edit a released one. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-27-001-runs-and-events': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('runs')
        .ifNotExists()
        .addColumn('run_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('thread_id', 'varchar(256)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('agent', 'varchar(128)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('finished_at', 'varchar(32)')
        .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('lease_until', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('runs_user_created').ifNotExists().on('runs').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('runs_status').ifNotExists().on('runs').columns(['status', 'user_id']).execute();
      await db.schema.createIndex('runs_thread').ifNotExists().on('runs').columns(['user_id', 'thread_id', 'created_at']).execute();
      await db.schema
        .createTable('events')
        .ifNotExists()
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('envelope', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['run_id', 'seq'])
        .execute();
    },
  },
  // Indexes shaped for a write-heavy store: a run's row is inserted and finished within seconds,
  // so an index entry that moves on every finish, or that lands on another page for every user,
  // costs a page write per run and user in each commit.
  '2026-11-27-002-write-friendly-run-indexes': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Only running runs: counted per user (admission) and scanned by recovery and lease renewal.
      await db.schema.dropIndex('runs_status').ifExists().execute();
      await db.schema
        .createIndex('runs_running')
        .ifNotExists()
        .on('runs')
        .column('user_id')
        .where(sql.ref('status'), '=', sql.lit('running'))
        .execute();
      // Thread first: new threads get time-ordered ids, so their entries are appended in one place
      // instead of one per user. Lookups give both columns, so the order serves them equally.
      await db.schema.dropIndex('runs_thread').ifExists().execute();
      await db.schema.createIndex('runs_thread_user').ifNotExists().on('runs').columns(['thread_id', 'user_id', 'created_at']).execute();
    },
  },
  // Multitask policy: runs wait on their thread (`queued`) in the order they were admitted.
  '2026-12-02-003-thread-queue': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('runs')
        .addColumn('thread_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Only queued runs: the head of a thread's queue, and the sweep that finds threads to start.
      await db.schema
        .createIndex('runs_queued')
        .ifNotExists()
        .on('runs')
        .columns(['user_id', 'thread_id', 'thread_seq'])
        .where(sql.ref('status'), '=', sql.lit('queued'))
        .execute();
    },
  },
  // Listings that page (`GET /runs`, `GET /threads`, `GET /threads/:id`) and retention. Pages are
  // cut by a (created_at, run_id) keyset, so both columns sit in the index: a page is one range
  // read that stops at its limit, however many runs the user has. The old indexes are prefixes
  // of the new ones and go, so a write costs no more index entries than before.
  '2026-12-02-004-run-listing-keysets-and-retention': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('runs_user_created_run').ifNotExists().on('runs').columns(['user_id', 'created_at', 'run_id']).execute();
      await db.schema.dropIndex('runs_user_created').ifExists().execute();
      await db.schema
        .createIndex('runs_thread_user_created_run')
        .ifNotExists()
        .on('runs')
        .columns(['thread_id', 'user_id', 'created_at', 'run_id'])
        .execute();
      await db.schema.dropIndex('runs_thread_user').ifExists().execute();
      // Only finished runs, by finish time: retention reads the oldest ones. Entries are appended
      // in time order (one page at the end), like the rows themselves.
      await db.schema
        .createIndex('runs_finished')
        .ifNotExists()
        .on('runs')
        .column('finished_at')
        .where(sql.ref('finished_at'), 'is not', null)
        .execute();
    },
  },
  // Interrupts: a run waiting for its user still executes (leases, recovery, concurrency), so the
  // partial index of executing runs takes `waiting` too.
  '2026-12-02-005-waiting-runs': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('runs_running').ifExists().execute();
      await db.schema
        .createIndex('runs_running')
        .on('runs')
        .column('user_id')
        .where(sql<boolean>`${sql.ref('status')} in (${sql.lit('running')}, ${sql.lit('waiting')})`)
        .execute();
    },
  },
  // Durable runs: the run says whether its agent is durable (recovery resumes it instead of
  // failing it), and the journal keeps each step's outcome for the replay of a resumed run.
  '2026-12-03-006-durable-journal': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('runs')
        .addColumn('durable', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('run_steps')
        .ifNotExists()
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(256)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('thinking_step', 'integer', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('run_steps_pk', ['run_id', 'name'])
        .execute();
    },
  },
  // Idempotent starts: a run keeps the key it was started with and its request's fingerprint.
  // Unique per user among the runs that have one; a key past its time is cleared before reuse.
  '2026-12-03-007-idempotency-keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('idempotency_key', 'varchar(255)').execute();
      await db.schema.alterTable('runs').addColumn('idempotency_fingerprint', 'text').execute();
      await db.schema
        .createIndex('runs_idempotency_key')
        .unique()
        .on('runs')
        .columns(['user_id', 'idempotency_key'])
        .where(sql.ref('idempotency_key'), 'is not', null)
        .execute();
    },
  },
  // Tracing and usage: the trace a run continues (so a queued or resumed run joins its caller's
  // trace on any node), the run's tokens, and each user's tokens per UTC day, agent and model
  // (GET /usage, and the daily budget, which every node reads from here).
  '2026-12-03-008-usage-and-traces': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('traceparent', 'varchar(64)').execute();
      await db.schema.alterTable('runs').addColumn('input_tokens', 'bigint').execute();
      await db.schema.alterTable('runs').addColumn('output_tokens', 'bigint').execute();
      await db.schema
        .createTable('usage_daily')
        .ifNotExists()
        .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('day', 'varchar(10)', (c) => c.notNull())
        .addColumn('agent', 'varchar(128)', (c) => c.notNull())
        .addColumn('model', 'varchar(256)', (c) => c.notNull())
        .addColumn('input_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('output_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('usage_daily_pk', ['user_id', 'day', 'agent', 'model'])
        .execute();
    },
  },
};

export class InCodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}
