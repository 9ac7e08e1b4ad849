import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from 'kysely';
import { Client, Pool } from 'pg';
import type { AgentEventDataMap, AgentEventEnvelope, AgentEventType } from '@agent-pipeline/protocol';
import { openRunStore, parseDatabaseUrl } from './run-store.factory';
import { InCodeMigrationProvider } from './run-store.migrations';
import { RELEASED_LEASE, type ListRunsQuery, type NewRun, type RunStore } from './run-store.interface';

/**
 * The RunStore contract, run against every backend: SQLite in memory, SQLite in a file, and
 * PostgreSQL when TEST_DATABASE_URL (or a postgres DATABASE_URL) names a server. Every test gets a
 * fresh database: a new in-memory database, a new file, or a new PostgreSQL schema (other test files
 * may share the PostgreSQL database, so nothing here touches tables outside its own schemas).
 */

interface Backend {
  name: string;
  kind: 'sqlite' | 'postgres';
  /** Whether a store reopened on the same URL sees the data of the first one. */
  persistent: boolean;
  setup(): Promise<void>;
  /** A URL naming an empty database of this backend. */
  freshUrl(): Promise<string>;
  teardown(): Promise<void>;
}

function memoryBackend(): Backend {
  return {
    name: 'SQLite (sqlite::memory:)',
    kind: 'sqlite',
    persistent: false,
    setup: async () => undefined,
    freshUrl: async () => 'sqlite::memory:',
    teardown: async () => undefined,
  };
}

function fileBackend(): Backend {
  let dir = '';
  let n = 0;
  return {
    name: 'SQLite (file)',
    kind: 'sqlite',
    persistent: true,
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'run-store-spec-'));
    },
    // A directory that does not exist yet: the factory creates it.
    freshUrl: async () => `sqlite:${join(dir, `db-${++n}`, 'runs.db')}`,
    teardown: async () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(baseUrl: string): Backend {
  const admin = new Client({ connectionString: baseUrl });
  const prefix = `s_${randomBytes(5).toString('hex')}`;
  const schemas: string[] = [];
  return {
    name: 'PostgreSQL',
    kind: 'postgres',
    persistent: true,
    setup: async () => {
      await admin.connect();
    },
    freshUrl: async () => {
      const schema = `${prefix}_${schemas.length + 1}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      schemas.push(schema);
      const options = encodeURIComponent(`-c search_path=${schema}`);
      return `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${options}`;
    },
    teardown: async () => {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

function postgresUrlFromEnv(): string | undefined {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  if (process.env.DATABASE_URL?.startsWith('postgres')) return process.env.DATABASE_URL;
  return undefined;
}

const postgresUrl = postgresUrlFromEnv();
const backends: Backend[] = [memoryBackend(), fileBackend()];
if (postgresUrl) {
  backends.push(postgresBackend(postgresUrl));
} else {
  const reason = 'skipped: set TEST_DATABASE_URL=postgres://… to run';
  console.warn(`run-store.spec: PostgreSQL store contract ${reason}`);
  describe.skip(`PostgreSQL store (${reason})`, () => {
    it('runs the store contract against PostgreSQL', () => undefined);
  });
}

let counter = 0;
const T0 = Date.UTC(2026, 0, 1);

function newRun(overrides: Partial<NewRun> = {}): NewRun {
  const n = ++counter;
  return {
    runId: `run-${n}-${randomUUID()}`,
    threadId: `thread-${n}`,
    userId: 'alice',
    agent: 'echo',
    input: { text: `hello ${n}` },
    createdAt: new Date(T0 + n * 1000),
    nodeId: 'node-a',
    leaseUntil: new Date(T0 + 3_600_000),
    ...overrides,
  };
}

function event<T extends AgentEventType>(run: NewRun, seq: number, type: T, data: AgentEventDataMap[T]): AgentEventEnvelope<T> {
  return {
    runId: run.runId,
    threadId: run.threadId,
    seq,
    type,
    agent: run.agent,
    ts: new Date(T0 + 60_000 + seq).toISOString(),
    data,
  };
}

/** Non-terminal events `from..to`: `agent_started` at seq 1, then thinking steps. */
function progress(run: NewRun, from: number, to: number): AgentEventEnvelope[] {
  const events: AgentEventEnvelope[] = [];
  for (let seq = from; seq <= to; seq++) {
    events.push(
      seq === 1
        ? event(run, 1, 'agent_started', { input: run.input })
        : event(run, seq, 'agent_thinking', { thought: `step ${seq - 1}`, step: seq - 1 }),
    );
  }
  return events;
}

const seqs = (events: readonly AgentEventEnvelope[]) => events.map((e) => e.seq);

describe.each(backends)('$name store', (backend) => {
  let store: RunStore;
  let url: string;
  const opened: RunStore[] = [];

  /** Opens a store that is closed after the test. */
  async function open(at: string): Promise<RunStore> {
    const s = await openRunStore(at);
    opened.push(s);
    return s;
  }

  async function started(overrides: Partial<NewRun> = {}, events = 0): Promise<NewRun> {
    const run = newRun(overrides);
    await store.createRun(run);
    if (events > 0) await store.appendEvents(progress(run, 1, events));
    return run;
  }

  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());

  beforeEach(async () => {
    url = await backend.freshUrl();
    store = await open(url);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  describe('migrate', () => {
    it('can run again on a migrated database without touching its data', async () => {
      const run = await started({}, 2);
      await store.migrate();
      await store.migrate();
      expect(await store.getRun(run.runId)).toMatchObject({ runId: run.runId, lastSeq: 2 });
      await store.ping();
    });

    if (backend.persistent) {
      it('lets a second store open (and migrate) the same database, and both see the same data', async () => {
        const run = await started({}, 1);
        const second = await open(url);
        expect(await second.getRun(run.runId)).toMatchObject({ runId: run.runId, status: 'running', lastSeq: 1 });
        await second.appendEvents(progress(run, 2, 3));
        expect(seqs(await store.getEvents(run.runId, 0))).toEqual([1, 2, 3]);
      });
    } else {
      it('gives every sqlite::memory: store its own database', async () => {
        const run = await started();
        const other = await open(url);
        expect(await other.getRun(run.runId)).toBeUndefined();
      });
    }

    if (backend.persistent) {
      it('upgrades a database made by the first release: write-friendly indexes, data kept', async () => {
        const at = await backend.freshUrl();
        const target = parseDatabaseUrl(at);
        if (target.kind === 'sqlite') mkdirSync(dirname(target.filename), { recursive: true });
        const db: Kysely<any> =
          target.kind === 'sqlite'
            ? new Kysely({ dialect: new SqliteDialect({ database: new Database(target.filename) }) })
            : new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: target.connectionString, max: 1 }) }) });
        const indexes = async (): Promise<string[]> => {
          const { rows } =
            target.kind === 'sqlite'
              ? await sql<{
                  name: string;
                }>`select name from sqlite_master where type = 'index' and tbl_name = 'runs' and sql is not null`.execute(db)
              : await sql<{
                  name: string;
                }>`select indexname as name from pg_indexes where tablename = 'runs' and schemaname = current_schema() and indexname <> 'runs_pkey'`.execute(
                  db,
                );
          return rows.map((r) => r.name).sort();
        };
        try {
          const schema =
            target.kind === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0].s : undefined;
          const migrator = new Migrator({ db, provider: new InCodeMigrationProvider(), migrationTableSchema: schema });
          const first = await migrator.migrateTo('2026-11-27-001-runs-and-events');
          expect(first.error).toBeUndefined();
          expect(await indexes()).toEqual(['runs_status', 'runs_thread', 'runs_user_created']);
          const old = newRun({ userId: 'upgrader' });
          await db
            .insertInto('runs')
            .values({
              run_id: old.runId,
              thread_id: old.threadId,
              user_id: old.userId,
              agent: old.agent,
              status: 'running',
              input: JSON.stringify(old.input),
              created_at: old.createdAt.toISOString(),
              node_id: old.nodeId,
              lease_until: old.leaseUntil.toISOString(),
            })
            .execute();

          const upgraded = await open(at);
          expect(await indexes()).toEqual([
            'runs_finished',
            'runs_idempotency_key',
            'runs_queued',
            'runs_running',
            'runs_thread_user_created_run',
            'runs_user_created_run',
          ]);
          expect(await upgraded.countRunning('upgrader')).toBe(1);
          expect(await upgraded.listRuns('upgrader', { limit: 5, threadId: old.threadId })).toHaveLength(1);
          await upgraded.appendEvents([event(old, 1, 'agent_completed', { result: 'ok', durationMs: 1 })]);
          expect(await upgraded.countRunning('upgrader')).toBe(0);
          // An old file keeps auto_vacuum off: reclaiming is a no-op there (free pages are reused).
          expect(await upgraded.pruneFinishedRuns(new Date(T0 + 3_600_000), 10)).toEqual({ deleted: 1 });
          expect(await upgraded.reclaimSpace(100)).toBe(0);
          expect(await upgraded.getRun(old.runId)).toBeUndefined();
          // The partial index of executing runs covers waiting runs too (interrupts).
          const { rows } =
            target.kind === 'sqlite'
              ? await sql<{ def: string }>`select sql as def from sqlite_master where name = 'runs_running'`.execute(db)
              : await sql<{
                  def: string;
                }>`select indexdef as def from pg_indexes where indexname = 'runs_running' and schemaname = current_schema()`.execute(db);
          expect(rows[0].def).toMatch(/running/);
          expect(rows[0].def).toMatch(/waiting/);
        } finally {
          await db.destroy();
        }
      });
    }

    if (backend.kind === 'postgres') {
      it('migrates a schema of its own even when another schema of the database was migrated first', async () => {
        // The beforeEach store already migrated one schema (and kysely_migration exists there).
        const run = await started();
        const other = await open(await backend.freshUrl());
        await other.createRun(newRun({ runId: 'only-in-the-second-schema' }));
        expect(await other.getRun(run.runId)).toBeUndefined();
        expect(await store.getRun('only-in-the-second-schema')).toBeUndefined();
        expect(await other.getRun('only-in-the-second-schema')).toMatchObject({ status: 'running' });
      });
    }
  });

  describe('createRun / getRun', () => {
    it('round-trips a run: JSON input, status running, lastSeq 0, no outcome yet', async () => {
      const input = {
        text: 'héllo "wörld" 👋',
        n: 42.5,
        flag: false,
        none: null,
        list: [1, 'two', { three: 3 }],
        nested: { deep: { deeper: ['x'] } },
      };
      const run = newRun({ input, userId: 'user-1', agent: 'calculator', nodeId: 'node-7' });
      await store.createRun(run);

      const record = await store.getRun(run.runId);
      expect(record).toEqual({
        runId: run.runId,
        threadId: run.threadId,
        userId: 'user-1',
        agent: 'calculator',
        status: 'running',
        input,
        createdAt: run.createdAt.toISOString(),
        lastSeq: 0,
        nodeId: 'node-7',
      });
      expect(record).not.toHaveProperty('result');
      expect(record).not.toHaveProperty('error');
      expect(record).not.toHaveProperty('finishedAt');
    });

    it('stores a missing input as null and scalar inputs as themselves', async () => {
      const none = await started({ input: undefined });
      const text = await started({ input: 'just a string' });
      const zero = await started({ input: 0 });
      expect((await store.getRun(none.runId))?.input).toBeNull();
      expect((await store.getRun(text.runId))?.input).toBe('just a string');
      expect((await store.getRun(zero.runId))?.input).toBe(0);
    });

    it('answers undefined for an unknown run', async () => {
      await started();
      expect(await store.getRun('no-such-run')).toBeUndefined();
    });

    it('refuses a second run with the same id', async () => {
      const run = await started();
      await expect(store.createRun({ ...run, userId: 'mallory' })).rejects.toThrow();
      expect((await store.getRun(run.runId))?.userId).toBe('alice');
    });

    it('deleteRun removes a run and its events, and nothing else', async () => {
      const doomed = await started({ userId: 'alice' }, 2);
      const kept = await started({ userId: 'alice' }, 1);
      await store.deleteRun(doomed.runId);
      await store.deleteRun('no-such-run');

      expect(await store.getRun(doomed.runId)).toBeUndefined();
      expect(await store.getEvents(doomed.runId, 0)).toEqual([]);
      expect((await store.listRuns('alice', { limit: 10 })).map((r) => r.runId)).toEqual([kept.runId]);
      expect(await store.countRunning('alice')).toBe(1);
      expect(seqs(await store.getEvents(kept.runId, 0))).toEqual([1]);
      // The id is free again.
      await store.createRun(doomed);
      expect(await store.getRun(doomed.runId)).toMatchObject({ status: 'running', lastSeq: 0 });
    });
  });

  describe('appendEvents / getEvents', () => {
    it('stores events in order and returns them unchanged', async () => {
      const run = await started();
      const events: AgentEventEnvelope[] = [
        event(run, 1, 'agent_started', { input: run.input }),
        event(run, 2, 'agent_thinking', { thought: 'hmm', step: 1 }),
        event(run, 3, 'tool_executing', { toolCallId: 't1', tool: 'calculate', args: { expression: '1+2' } }),
        event(run, 4, 'tool_completed', { toolCallId: 't1', tool: 'calculate', result: 3, durationMs: 5 }),
        event(run, 5, 'agent_message_delta', { messageId: 'm1', delta: 'три 🎉' }),
      ];
      await store.appendEvents(events.slice(0, 2));
      await store.appendEvents(events.slice(2));

      expect(await store.getEvents(run.runId, 0)).toEqual(events);
      expect((await store.getRun(run.runId))?.lastSeq).toBe(5);
    });

    it('returns only events after afterSeq, in seq order, up to limit', async () => {
      const run = await started({}, 6);
      expect(seqs(await store.getEvents(run.runId, 2))).toEqual([3, 4, 5, 6]);
      expect(seqs(await store.getEvents(run.runId, 5))).toEqual([6]);
      expect(await store.getEvents(run.runId, 6)).toEqual([]);
      expect(await store.getEvents(run.runId, 100)).toEqual([]);
      expect(seqs(await store.getEvents(run.runId, 1, 2))).toEqual([2, 3]);
      expect(await store.getEvents('no-such-run', 0)).toEqual([]);
    });

    it('keeps the events of runs appended in one interleaved batch apart', async () => {
      const a = await started();
      const b = await started();
      const pa = progress(a, 1, 3);
      const pb = progress(b, 1, 3);
      await store.appendEvents([pa[0], pb[0], pb[1], pa[1], pb[2], pa[2]]);
      expect(await store.getEvents(a.runId, 0)).toEqual(pa);
      expect(await store.getEvents(b.runId, 0)).toEqual(pb);
    });

    it('returns events in seq order even when batches arrive out of order', async () => {
      const run = await started();
      await store.appendEvents(progress(run, 4, 5));
      await store.appendEvents(progress(run, 1, 3));
      expect(seqs(await store.getEvents(run.runId, 0))).toEqual([1, 2, 3, 4, 5]);
    });

    it('writes batches while the store is inside a transaction of its own', async () => {
      // interruptRuns and deleteRun hold a transaction across several awaits; a write issued
      // meanwhile must wait for it, not open a transaction inside it.
      const running = await Promise.all([started({}, 1), started({}, 1), started({}, 1)]);
      const doomed = await started({}, 2);
      const fresh = Array.from({ length: 4 }, () => newRun({ nodeId: 'node-b' }));
      const results = await Promise.all([
        store.interruptRuns({ kind: 'node', nodeId: 'node-a' }),
        store.deleteRun(doomed.runId),
        ...fresh.map((run) => store.write({ runs: [run], events: progress(run, 1, 2) })),
      ]);
      expect((results[0] as unknown[]).length).toBeGreaterThanOrEqual(running.length);
      expect(await store.getRun(doomed.runId)).toBeUndefined();
      for (const run of fresh) expect(seqs(await store.getEvents(run.runId, 0))).toEqual([1, 2]);
    });

    it('stores a batch larger than one INSERT holds, completely and in order', async () => {
      const run = await started();
      const events = progress(run, 1, 450);
      await store.appendEvents(events);
      const stored = await store.getEvents(run.runId, 0);
      expect(stored).toHaveLength(450);
      expect(seqs(stored)).toEqual(seqs(events));
      expect((await store.getRun(run.runId))?.lastSeq).toBe(450);
    });

    it('accepts an empty batch', async () => {
      const run = await started({}, 1);
      await store.appendEvents([]);
      expect(seqs(await store.getEvents(run.runId, 0))).toEqual([1]);
    });

    it('is idempotent per (runId, seq): a re-appended event is stored once and the first copy wins', async () => {
      const run = await started();
      const first = progress(run, 1, 3);
      await store.appendEvents(first);
      const retried = [
        ...progress(run, 2, 3).map((e) => ({ ...e, data: { thought: 'a different copy', step: 99 } })),
        ...progress(run, 4, 4),
      ];
      await store.appendEvents(retried);
      await store.appendEvents(first);

      const stored = await store.getEvents(run.runId, 0);
      expect(seqs(stored)).toEqual([1, 2, 3, 4]);
      expect(stored.slice(0, 3)).toEqual(first);
      expect((await store.getRun(run.runId))?.lastSeq).toBe(4);
    });
  });

  describe('terminal events', () => {
    it('agent_completed finishes the run as completed with its result', async () => {
      const run = await started();
      const result = { answer: 42, items: [1, 'two', null], nested: { ok: true } };
      const done = event(run, 3, 'agent_completed', { result, durationMs: 12 });
      await store.appendEvents([...progress(run, 1, 2), done]);

      const record = await store.getRun(run.runId);
      expect(record).toMatchObject({ status: 'completed', result, finishedAt: done.ts, lastSeq: 3 });
      expect(record).not.toHaveProperty('error');
    });

    it('finishes a run whose start and end are written in one batch, and only with its first ending', async () => {
      const [done, failed, cancelled] = [newRun(), newRun(), newRun()];
      const late = event(done, 3, 'agent_error', { code: 'TIMEOUT', message: 'too late' });
      const batch = {
        runs: [done, failed, cancelled],
        events: [
          ...progress(done, 1, 1),
          ...progress(failed, 1, 1),
          event(done, 2, 'agent_completed', { result: { n: 1 }, durationMs: 3 }),
          event(failed, 2, 'agent_error', { code: 'AGENT_FAILED', message: 'boom' }),
          event(cancelled, 1, 'agent_cancelled', { reason: 'user' }),
          late,
        ],
      };
      await store.write(batch);
      // Written again (a retried flush): idempotent.
      await store.write(batch);

      expect(await store.getRun(done.runId)).toMatchObject({ status: 'completed', result: { n: 1 }, lastSeq: 3 });
      expect(await store.getRun(done.runId)).not.toHaveProperty('error');
      expect(await store.getRun(failed.runId)).toMatchObject({
        status: 'failed',
        error: { code: 'AGENT_FAILED', message: 'boom' },
        finishedAt: batch.events[3].ts,
      });
      expect(await store.getRun(cancelled.runId)).toMatchObject({ status: 'cancelled', lastSeq: 1 });
      expect(await store.countRunning('alice')).toBe(0);
      expect(await store.interruptRuns({ kind: 'all' })).toEqual([]);
    });

    it('finishes a run stored earlier when a batch carries it again with its ending', async () => {
      const run = await started({}, 1);
      await store.write({ runs: [run], events: [event(run, 2, 'agent_completed', { result: 'ok', durationMs: 1 })] });
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', result: 'ok', lastSeq: 2 });
      expect(await store.countRunning(run.userId)).toBe(0);
    });

    it('agent_completed with a null result stores null', async () => {
      const run = await started({}, 1);
      await store.appendEvents([event(run, 2, 'agent_completed', { result: null, durationMs: 1 })]);
      const record = await store.getRun(run.runId);
      expect(record?.status).toBe('completed');
      expect(record?.result).toBeNull();
    });

    it('agent_error finishes the run as failed with { code, message }', async () => {
      const run = await started({}, 2);
      const failed = event(run, 3, 'agent_error', { code: 'AGENT_FAILED', message: 'Bad expression' });
      await store.appendEvents([failed]);

      const record = await store.getRun(run.runId);
      expect(record).toMatchObject({
        status: 'failed',
        error: { code: 'AGENT_FAILED', message: 'Bad expression' },
        finishedAt: failed.ts,
        lastSeq: 3,
      });
      expect(record).not.toHaveProperty('result');
    });

    it('agent_cancelled finishes the run as cancelled, without result or error', async () => {
      const run = await started({}, 2);
      const cancelled = event(run, 3, 'agent_cancelled', { reason: 'user' });
      await store.appendEvents([cancelled]);

      const record = await store.getRun(run.runId);
      expect(record).toMatchObject({ status: 'cancelled', finishedAt: cancelled.ts, lastSeq: 3 });
      expect(record).not.toHaveProperty('result');
      expect(record).not.toHaveProperty('error');
    });

    it('the first terminal event decides the outcome; a later one does not rewrite it', async () => {
      const run = await started({}, 1);
      const done = event(run, 2, 'agent_completed', { result: 'first', durationMs: 1 });
      await store.appendEvents([done]);
      await store.appendEvents([done]);
      await store.appendEvents([event(run, 3, 'agent_error', { code: 'TIMEOUT', message: 'too late' })]);

      const record = await store.getRun(run.runId);
      expect(record).toMatchObject({ status: 'completed', result: 'first', finishedAt: done.ts });
      expect(record).not.toHaveProperty('error');
    });

    it('finishes only the run the terminal event belongs to', async () => {
      const a = await started({}, 1);
      const b = await started({}, 1);
      await store.appendEvents([event(a, 2, 'agent_cancelled', { reason: 'user' })]);
      expect((await store.getRun(a.runId))?.status).toBe('cancelled');
      expect(await store.getRun(b.runId)).toMatchObject({ status: 'running', lastSeq: 1 });
      expect(await store.getRun(b.runId)).not.toHaveProperty('finishedAt');
    });
  });

  describe('listRuns', () => {
    it("lists a user's runs newest first, honours limit and filters, and never lists another user's runs", async () => {
      const oldest = await started({ userId: 'alice', createdAt: new Date(T0 + 1_000), threadId: 'th-1' });
      const middle = await started({ userId: 'alice', createdAt: new Date(T0 + 2_000), threadId: 'th-2', agent: 'calculator' });
      const newest = await started({ userId: 'alice', createdAt: new Date(T0 + 3_000), threadId: 'th-1' });
      const bobs = await started({ userId: 'bob', createdAt: new Date(T0 + 4_000), threadId: 'th-1' });
      await store.appendEvents([event(middle, 1, 'agent_completed', { result: 1, durationMs: 1 })]);

      const ids = async (userId: string, query: ListRunsQuery) => (await store.listRuns(userId, query)).map((r) => r.runId);

      expect(await ids('alice', { limit: 10 })).toEqual([newest.runId, middle.runId, oldest.runId]);
      expect(await ids('alice', { limit: 2 })).toEqual([newest.runId, middle.runId]);
      expect(await ids('alice', { limit: 1 })).toEqual([newest.runId]);
      expect(await ids('alice', { limit: 10, status: 'running' })).toEqual([newest.runId, oldest.runId]);
      expect(await ids('alice', { limit: 10, status: 'completed' })).toEqual([middle.runId]);
      expect(await ids('alice', { limit: 10, status: 'failed' })).toEqual([]);
      expect(await ids('alice', { limit: 10, threadId: 'th-1' })).toEqual([newest.runId, oldest.runId]);
      expect(await ids('alice', { limit: 10, agent: 'calculator' })).toEqual([middle.runId]);
      expect(await ids('bob', { limit: 10 })).toEqual([bobs.runId]);
      expect(await ids('carol', { limit: 10 })).toEqual([]);
    });

    it('returns full records with their outcome and lastSeq', async () => {
      const run = await started({ userId: 'dave' }, 2);
      await store.appendEvents([event(run, 3, 'agent_error', { code: 'TIMEOUT', message: 'slow' })]);
      const [record] = await store.listRuns('dave', { limit: 5 });
      expect(record).toEqual(await store.getRun(run.runId));
      expect(record).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT', message: 'slow' }, lastSeq: 3 });
    });
  });

  describe('waiting runs (interrupts)', () => {
    const asked = (run: NewRun, seq: number, interruptId = `i-${seq}`) =>
      event(run, seq, 'interrupt_requested', {
        interruptId,
        kind: 'approval',
        message: 'Approve?',
        expiresAt: new Date(T0 + 3_600_000).toISOString(),
      });
    const answered = (run: NewRun, seq: number, interruptId = `i-${seq - 1}`) =>
      event(run, seq, 'interrupt_resolved', { interruptId, resolution: 'approved' });

    it('interrupt_requested makes a run waiting and interrupt_resolved running again; filters and counts follow', async () => {
      const run = await started({ userId: 'wendy' }, 2);
      await store.appendEvents([asked(run, 3)]);
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'waiting', lastSeq: 3 });
      expect((await store.listRuns('wendy', { limit: 5, status: 'waiting' })).map((r) => r.runId)).toEqual([run.runId]);
      expect(await store.listRuns('wendy', { limit: 5, status: 'running' })).toEqual([]);
      expect(await store.countRunning('wendy')).toBe(1);
      expect((await store.getEventsOfType(run.runId, 'interrupt_requested')).map((e) => e.seq)).toEqual([3]);

      await store.appendEvents([answered(run, 4)]);
      expect((await store.getRun(run.runId))?.status).toBe('running');
      await store.appendEvents([asked(run, 5), event(run, 6, 'agent_cancelled', { reason: 'user' })]);
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'cancelled', lastSeq: 6 });
      expect(await store.countRunning('wendy')).toBe(0);
    });

    it('a new run and its question in one batch store it waiting; a run that also ended stays ended', async () => {
      const waiting = newRun({ userId: 'wendy' });
      const ended = newRun({ userId: 'wendy' });
      await store.write({
        runs: [waiting, ended],
        events: [
          ...progress(waiting, 1, 1),
          asked(waiting, 2),
          ...progress(ended, 1, 1),
          asked(ended, 2),
          answered(ended, 3),
          event(ended, 4, 'agent_completed', { result: 'ok', durationMs: 1 }),
        ],
      });
      expect((await store.getRun(waiting.runId))?.status).toBe('waiting');
      expect((await store.getRun(ended.runId))?.status).toBe('completed');
    });

    it('a waiting run keeps its lease renewed and is INTERRUPTED when its node is gone', async () => {
      const lease = new Date(T0 + 10_000);
      const live = await started({ nodeId: 'node-live', leaseUntil: lease }, 1);
      const dead = await started({ nodeId: 'node-dead', leaseUntil: lease }, 1);
      await store.appendEvents([asked(live, 2), asked(dead, 2)]);
      await store.renewLeases('node-live', new Date(T0 + 60_000));

      const interrupted = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
      expect(interrupted.map((i) => i.event.runId)).toEqual([dead.runId]);
      expect(interrupted[0].event).toMatchObject({ seq: 3, type: 'agent_error', data: { code: 'INTERRUPTED' } });
      expect(await store.getRun(dead.runId)).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
      expect((await store.getRun(live.runId))?.status).toBe('waiting');
      expect((await store.interruptRuns({ kind: 'node', nodeId: 'node-live' })).map((i) => i.event.runId)).toEqual([live.runId]);
    });
  });

  describe('durable runs (journal, resume, takeover)', () => {
    const step = (run: NewRun, name: string, seq: number, result?: unknown) => ({
      runId: run.runId,
      name,
      seq,
      thinkingStep: seq - 1,
      ...(result === undefined ? {} : { result: JSON.stringify(result) }),
    });

    it('records steps with the events, keeps the first record of a name, and deletes them with their run', async () => {
      const run = newRun({ durable: true });
      await store.write({ runs: [run], events: progress(run, 1, 2), steps: [step(run, 'a', 2, { n: 1 })] });
      // A batch written again, and a second record of the same name: the first stays.
      await store.write({ runs: [run], events: progress(run, 1, 2), steps: [step(run, 'a', 2, { n: 1 }), step(run, 'b', 2)] });
      await store.write({ runs: [], events: [], steps: [step(run, 'a', 9, { n: 2 })] });
      expect(await store.getSteps(run.runId)).toEqual([step(run, 'a', 2, { n: 1 }), step(run, 'b', 2)]);
      await store.deleteRun(run.runId);
      expect(await store.getSteps(run.runId)).toEqual([]);
    });

    it('lists executing durable runs (never the others) and leaves them out of interruptRuns', async () => {
      const lease = new Date(T0 + 10_000);
      const durable = await started({ durable: true, nodeId: 'node-dead', leaseUntil: lease }, 2);
      const waiting = await started({ durable: true, nodeId: 'node-dead', leaseUntil: lease }, 1);
      await store.appendEvents([
        event(waiting, 2, 'interrupt_requested', { interruptId: 'q', kind: 'approval', message: '?', expiresAt: 'x' }),
      ]);
      const plain = await started({ nodeId: 'node-dead', leaseUntil: lease }, 1);
      const fresh = await started({ durable: true, nodeId: 'node-live', leaseUntil: new Date(T0 + 60_000) }, 1);
      const ended = await started({ durable: true, nodeId: 'node-dead', leaseUntil: lease }, 1);
      await store.appendEvents([event(ended, 2, 'agent_completed', { result: 1, durationMs: 1 })]);

      const expired = await store.resumableRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
      expect(expired.map((r) => [r.runId, r.status])).toEqual([
        [durable.runId, 'running'],
        [waiting.runId, 'waiting'],
      ]);
      expect(expired[0]).toMatchObject({
        userId: 'alice',
        agent: 'echo',
        input: durable.input,
        nodeId: 'node-dead',
        leaseUntil: lease.toISOString(),
      });
      expect((await store.resumableRuns({ kind: 'all' })).map((r) => r.runId)).toEqual([durable.runId, waiting.runId, fresh.runId]);
      expect((await store.resumableRuns({ kind: 'run', runId: plain.runId })).length).toBe(0);

      const interrupted = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
      expect(interrupted.map((i) => i.event.runId)).toEqual([plain.runId]);
    });

    it('lets exactly one node claim a run, only with the lease it read; a released lease shows as such', async () => {
      const run = await started({ durable: true, nodeId: 'node-dead', leaseUntil: new Date(T0 + 10_000) }, 1);
      const [read] = await store.resumableRuns({ kind: 'run', runId: run.runId });
      const claims = await Promise.all(['node-b', 'node-c'].map((node) => store.claimRun(read, node, new Date(T0 + 90_000))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const [now] = await store.resumableRuns({ kind: 'run', runId: run.runId });
      const winner = claims[0] ? 'node-b' : 'node-c';
      expect(now).toMatchObject({ nodeId: winner, leaseUntil: new Date(T0 + 90_000).toISOString() });
      expect(await store.claimRun(read, 'node-d', new Date(T0 + 99_000))).toBe(false);

      await store.releaseLeases('someone-else', [run.runId]);
      expect((await store.resumableRuns({ kind: 'run', runId: run.runId }))[0].leaseUntil).toBe(now.leaseUntil);
      await store.releaseLeases(winner, [run.runId]);
      const [released] = await store.resumableRuns({ kind: 'run', runId: run.runId });
      expect(released.leaseUntil).toBe(RELEASED_LEASE);
      expect((await store.resumableRuns({ kind: 'lease-expired', now: new Date(T0) })).map((r) => r.runId)).toEqual([run.runId]);
    });

    it('ends a run held by a given node after its last event, once; not one another node took', async () => {
      const run = await started({ durable: true, nodeId: 'node-dead' }, 3);
      expect(await store.endRun(run.runId, 'node-other', { type: 'agent_cancelled', data: { reason: 'user' } })).toBeUndefined();
      const ended = await store.endRun(run.runId, 'node-dead', { type: 'agent_cancelled', data: { reason: 'user' } });
      expect(ended).toEqual({
        userId: 'alice',
        event: expect.objectContaining({ runId: run.runId, seq: 4, type: 'agent_cancelled', data: { reason: 'user' } }),
      });
      expect(await store.endRun(run.runId, 'node-dead', { type: 'agent_cancelled', data: { reason: 'user' } })).toBeUndefined();
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'cancelled', lastSeq: 4 });
      expect(seqs(await store.getEvents(run.runId, 0))).toEqual([1, 2, 3, 4]);
      expect(await store.resumableRuns({ kind: 'run', runId: run.runId })).toEqual([]);
    });
  });

  describe('countRunning', () => {
    it('counts only the executing runs of that user', async () => {
      await started({ userId: 'alice' });
      const second = await started({ userId: 'alice' });
      const finished = await started({ userId: 'alice' });
      await store.appendEvents([event(finished, 1, 'agent_cancelled', { reason: 'user' })]);
      await started({ userId: 'bob' });

      expect(await store.countRunning('alice')).toBe(2);
      expect(await store.countRunning('bob')).toBe(1);
      expect(await store.countRunning('carol')).toBe(0);

      await store.appendEvents([event(second, 1, 'agent_completed', { result: null, durationMs: 1 })]);
      expect(await store.countRunning('alice')).toBe(1);
    });
  });

  describe('interruptRuns', () => {
    it("{ kind: 'all' } fails every running run with an INTERRUPTED event at lastSeq + 1", async () => {
      const withEvents = await started({ userId: 'alice', agent: 'countdown' }, 2);
      const withoutEvents = await started({ userId: 'bob' });
      const completed = await started({ userId: 'carol' }, 1);
      await store.appendEvents([event(completed, 2, 'agent_completed', { result: 'done', durationMs: 3 })]);
      const completedBefore = await store.getRun(completed.runId);
      const startedAt = Date.now();

      const interrupted = await store.interruptRuns({ kind: 'all' });

      expect(interrupted).toHaveLength(2);
      const byRun = new Map(interrupted.map((i) => [i.event.runId, i]));
      expect(byRun.get(withEvents.runId)).toEqual({
        userId: 'alice',
        event: {
          runId: withEvents.runId,
          threadId: withEvents.threadId,
          seq: 3,
          type: 'agent_error',
          agent: 'countdown',
          ts: expect.any(String),
          data: { code: 'INTERRUPTED', message: expect.any(String) },
        },
      });
      expect(byRun.get(withoutEvents.runId)).toMatchObject({
        userId: 'bob',
        event: { seq: 1, type: 'agent_error', data: { code: 'INTERRUPTED' } },
      });

      for (const { event: terminal } of interrupted) {
        expect(terminal.data).toMatchObject({ message: expect.stringMatching(/\S/) });
        expect(Date.parse(terminal.ts)).toBeGreaterThanOrEqual(startedAt - 1_000);
        const record = await store.getRun(terminal.runId);
        expect(record).toMatchObject({
          status: 'failed',
          error: terminal.data,
          finishedAt: terminal.ts,
          lastSeq: terminal.seq,
        });
        const stored = await store.getEvents(terminal.runId, 0);
        expect(stored[stored.length - 1]).toEqual(terminal);
      }
      expect(seqs(await store.getEvents(withEvents.runId, 0))).toEqual([1, 2, 3]);

      expect(await store.getRun(completed.runId)).toEqual(completedBefore);
      expect(seqs(await store.getEvents(completed.runId, 0))).toEqual([1, 2]);
      expect(await store.countRunning('alice')).toBe(0);

      expect(await store.interruptRuns({ kind: 'all' })).toEqual([]);
      expect(seqs(await store.getEvents(withEvents.runId, 0))).toEqual([1, 2, 3]);
    });

    it('returns nothing when no run is running', async () => {
      expect(await store.interruptRuns({ kind: 'all' })).toEqual([]);
    });

    it("{ kind: 'lease-expired' } touches only runs whose lease ended before now; renewLeases extends a node's leases", async () => {
      const lease = new Date(T0 + 10_000);
      const renewed = await started({ nodeId: 'node-live', leaseUntil: lease }, 1);
      const stale = await started({ nodeId: 'node-dead', leaseUntil: lease }, 1);
      const fresh = await started({ nodeId: 'node-other', leaseUntil: new Date(T0 + 120_000) });
      const finished = await started({ nodeId: 'node-dead', leaseUntil: lease }, 1);
      await store.appendEvents([event(finished, 2, 'agent_cancelled', { reason: 'user' })]);

      await store.renewLeases('node-live', new Date(T0 + 60_000));

      const first = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
      expect(first.map((i) => i.event.runId)).toEqual([stale.runId]);
      expect(first[0].event).toMatchObject({ seq: 2, data: { code: 'INTERRUPTED' } });
      expect((await store.getRun(renewed.runId))?.status).toBe('running');
      expect((await store.getRun(fresh.runId))?.status).toBe('running');
      expect((await store.getRun(finished.runId))?.status).toBe('cancelled');

      // The renewed lease has ended by then as well; the other node's has not.
      const second = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 90_000) });
      expect(second.map((i) => i.event.runId)).toEqual([renewed.runId]);
      expect((await store.getRun(fresh.runId))?.status).toBe('running');
    });

    it("renewLeases leaves other nodes' runs alone", async () => {
      const lease = new Date(T0 + 10_000);
      const a = await started({ nodeId: 'node-a', leaseUntil: lease });
      const b = await started({ nodeId: 'node-b', leaseUntil: lease });
      await store.renewLeases('node-a', new Date(T0 + 60_000));
      const interrupted = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
      expect(interrupted.map((i) => i.event.runId)).toEqual([b.runId]);
      expect((await store.getRun(a.runId))?.status).toBe('running');
    });

    // PostgreSQL only: SQLite has one writer at a time and no row locks.
    if (backend.kind === 'postgres') {
      it('renewLeases does not wait for a run another transaction is finishing', async () => {
        const lease = new Date(T0 + 10_000);
        const busy = await started({ nodeId: 'node-a', leaseUntil: lease });
        const idle = await started({ nodeId: 'node-a', leaseUntil: lease });
        // Another connection holds busy's row, as a write finishing that run does.
        const other = new Client({ connectionString: url });
        await other.connect();
        try {
          await other.query('begin');
          await other.query("update runs set status = 'completed' where run_id = $1", [busy.runId]);
          const renewed = await Promise.race([
            store.renewLeases('node-a', new Date(T0 + 60_000)).then(() => 'renewed'),
            new Promise((resolve) => setTimeout(resolve, 2000, 'waited')),
          ]);
          await other.query('rollback');
          expect(renewed).toBe('renewed');
          const expired = await store.interruptRuns({ kind: 'lease-expired', now: new Date(T0 + 30_000) });
          expect(expired.map((i) => i.event.runId)).toEqual([busy.runId]);
          expect((await store.getRun(idle.runId))?.status).toBe('running');
        } finally {
          await other.end();
        }
      });
    }

    it("{ kind: 'node' } touches only that node's running runs", async () => {
      const mine = await started({ nodeId: 'node-1', userId: 'alice' }, 3);
      const alsoMine = await started({ nodeId: 'node-1', userId: 'bob' });
      const theirs = await started({ nodeId: 'node-2' }, 1);

      const interrupted = await store.interruptRuns({ kind: 'node', nodeId: 'node-1' });
      expect(interrupted.map((i) => [i.userId, i.event.runId, i.event.seq]).sort()).toEqual(
        [
          ['alice', mine.runId, 4],
          ['bob', alsoMine.runId, 1],
        ].sort(),
      );
      expect(await store.getRun(theirs.runId)).toMatchObject({ status: 'running', lastSeq: 1 });
      expect(await store.interruptRuns({ kind: 'node', nodeId: 'node-1' })).toEqual([]);
    });

    it('an interrupted run ignores a late terminal event and keeps its INTERRUPTED event', async () => {
      const run = await started({}, 2);
      const [{ event: terminal }] = await store.interruptRuns({ kind: 'all' });
      // The node that ran it comes back and flushes what it had: same seq, and one more.
      await store.appendEvents([
        event(run, 3, 'agent_completed', { result: 'late', durationMs: 1 }),
        event(run, 4, 'agent_completed', { result: 'later', durationMs: 1 }),
      ]);
      const record = await store.getRun(run.runId);
      expect(record).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
      expect(record).not.toHaveProperty('result');
      expect((await store.getEvents(run.runId, 2))[0]).toEqual(terminal);
    });
  });

  if (backend.persistent) {
    it('keeps runs and events across closing and reopening the same database', async () => {
      const done = await started({ userId: 'alice', input: { text: 'persist me' } }, 2);
      await store.appendEvents([event(done, 3, 'agent_completed', { result: { ok: 1 }, durationMs: 4 })]);
      const running = await started({ userId: 'alice' }, 1);
      const runBefore = await store.getRun(done.runId);
      const eventsBefore = await store.getEvents(done.runId, 0);
      await store.close();
      opened.splice(opened.indexOf(store), 1);

      const reopened = await open(url);
      expect(await reopened.getRun(done.runId)).toEqual(runBefore);
      expect(await reopened.getEvents(done.runId, 0)).toEqual(eventsBefore);
      expect(await reopened.countRunning('alice')).toBe(1);
      const [interrupted] = await reopened.interruptRuns({ kind: 'all' });
      expect(interrupted.event).toMatchObject({ runId: running.runId, seq: 2 });
    });
  }

  describe('thread queue', () => {
    /** Admits a run the way the thread policy does: running on a free thread, else queued. */
    function admit(target: RunStore, run: NewRun): Promise<'running' | 'queued'> {
      return target.withThread(run.userId, run.threadId, async (tx) => {
        const status = (await tx.inFlight()).length === 0 ? 'running' : 'queued';
        await tx.insert({ ...run, status });
        return status;
      });
    }

    it('orders the runs of a thread, per user, and keeps queued runs out of the running count', async () => {
      const [r1, r2, r3] = [1, 2, 3].map(() => newRun({ threadId: 't', userId: 'alice' }));
      const other = newRun({ threadId: 't', userId: 'bob' });
      expect([await admit(store, r1), await admit(store, r2), await admit(store, r3), await admit(store, other)]).toEqual([
        'running',
        'queued',
        'queued',
        'running',
      ]);
      const inFlight = await store.threadInFlight('alice', 't');
      expect(inFlight.map((r) => [r.runId, r.status, r.threadSeq])).toEqual([
        [r1.runId, 'running', 1],
        [r2.runId, 'queued', 2],
        [r3.runId, 'queued', 3],
      ]);
      expect((await store.threadInFlight('bob', 't')).map((r) => r.threadSeq)).toEqual([1]);
      expect(await store.countRunning('alice')).toBe(1);
      expect(await store.countQueued()).toBe(2);
      expect(await store.getRun(r2.runId)).toMatchObject({ status: 'queued', lastSeq: 0 });
      // Recovery of crashed runs leaves queued runs alone.
      expect((await store.interruptRuns({ kind: 'all' })).map((r) => r.event.runId).sort()).toEqual([r1.runId, other.runId].sort());
      expect(await store.getRun(r2.runId)).toMatchObject({ status: 'queued' });
    });

    it('claims a queued run once; a terminal event of a queued run does not finish it', async () => {
      const r1 = newRun({ threadId: 'c' });
      const r2 = newRun({ threadId: 'c' });
      await admit(store, r1);
      await admit(store, r2);
      await store.appendEvents([event(r2, 1, 'agent_completed', { result: 'stray', durationMs: 1 })]);
      expect(await store.getRun(r2.runId)).toMatchObject({ status: 'queued' });
      const claims = await Promise.all(
        ['node-x', 'node-y'].map((node) => store.withThread('alice', 'c', (tx) => tx.claim(r2.runId, node, new Date(T0 + 9_000_000)))),
      );
      expect(claims.sort()).toEqual([false, true]);
      expect(await store.getRun(r2.runId)).toMatchObject({ status: 'running', nodeId: expect.stringMatching(/^node-[xy]$/) });
    });

    it('cancels a queued run with one stored event at seq 1, once; a running run is not cancelled this way', async () => {
      const r1 = newRun({ threadId: 'q' });
      const r2 = newRun({ threadId: 'q' });
      await admit(store, r1);
      await admit(store, r2);
      const ended = await store.cancelQueued(r2.runId, 'user');
      expect(ended).toEqual({
        userId: 'alice',
        event: {
          runId: r2.runId,
          threadId: 'q',
          seq: 1,
          type: 'agent_cancelled',
          agent: 'echo',
          ts: expect.any(String),
          data: { reason: 'user' },
        },
      });
      expect(await store.cancelQueued(r2.runId, 'user')).toBeUndefined();
      expect(await store.cancelQueued(r1.runId, 'user')).toBeUndefined();
      expect(await store.getRun(r2.runId)).toMatchObject({ status: 'cancelled', lastSeq: 1, finishedAt: ended!.event.ts });
      expect(await store.getEvents(r2.runId, 0)).toEqual([ended!.event]);
      expect(await store.countQueued()).toBe(0);
    });

    it('finds threads whose queue may start: queued runs and nothing executing', async () => {
      const busy = [newRun({ threadId: 'busy' }), newRun({ threadId: 'busy' })];
      const free = [newRun({ threadId: 'free' }), newRun({ threadId: 'free' })];
      for (const run of [...busy, ...free]) await admit(store, run);
      expect(await store.readyThreads(10)).toEqual([]);
      await store.appendEvents([event(free[0], 1, 'agent_completed', { result: 'done', durationMs: 1 })]);
      expect(await store.readyThreads(10)).toEqual([{ userId: 'alice', threadId: 'free' }]);
    });

    it('serializes racing admissions on one thread: exactly one runs', async () => {
      // PostgreSQL: three stores (three pools, like three nodes). SQLite serves one node: one store.
      const stores = backend.kind === 'postgres' ? [store, await open(url), await open(url)] : [store, store, store];
      const runs = stores.map(() => newRun({ threadId: 'race', userId: 'carol' }));
      const statuses = await Promise.all(runs.map((run, i) => admit(stores[i], run)));
      expect(statuses.filter((s) => s === 'running')).toHaveLength(1);
      expect((await store.threadInFlight('carol', 'race')).map((r) => r.threadSeq)).toEqual([1, 2, 3]);
    });
  });
  describe('listing pages', () => {
    const finish = (run: NewRun, status: 'completed' | 'failed' = 'completed') =>
      store.appendEvents([
        status === 'completed'
          ? event(run, 1, 'agent_completed', { result: `re: ${(run.input as { text?: string }).text}`, durationMs: 1 })
          : event(run, 1, 'agent_error', { code: 'AGENT_FAILED', message: 'no' }),
      ]);

    it('pages listRuns with a (createdAt, runId) cursor: every run once, ties included, newer inserts never shift a page', async () => {
      const at = (s: number) => new Date(T0 + s * 1000);
      // Three runs share one createdAt: the run id breaks the tie.
      const runs = [1, 2, 2, 2, 3, 4, 5].map((s, i) => newRun({ userId: 'pager', createdAt: at(s), runId: `r-${i}-${randomUUID()}` }));
      for (const run of runs) await store.createRun(run);
      await store.createRun(newRun({ userId: 'other', createdAt: at(3) }));
      const seen: string[] = [];
      let before: { createdAt: string; runId: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const rows = await store.listRuns('pager', { limit: 3, before });
        seen.push(...rows.map((r) => r.runId));
        if (rows.length < 3) break;
        const last = rows[rows.length - 1];
        before = { createdAt: last.createdAt, runId: last.runId };
        // A run arriving between two pages is newer than every cursor: later pages do not move.
        await store.createRun(newRun({ userId: 'pager', createdAt: at(100 + page) }));
      }
      const expected = [...runs]
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.runId < b.runId ? 1 : -1))
        .map((r) => r.runId);
      expect(seen).toEqual(expected);
      // The cursor combines with the filters.
      const [first] = await store.listRuns('pager', {
        limit: 1,
        threadId: runs[2].threadId,
        before: { createdAt: at(9).toISOString(), runId: '' },
      });
      expect(first.runId).toBe(runs[2].runId);
      expect(
        await store.listRuns('pager', {
          limit: 5,
          threadId: runs[2].threadId,
          before: { createdAt: at(2).toISOString(), runId: runs[2].runId },
        }),
      ).toEqual([]);
    });

    it("lists a user's threads, latest activity first, with first input, latest agent, run count and status; pages with a cursor", async () => {
      const at = (s: number) => new Date(T0 + s * 1000);
      const a1 = await started({ userId: 'lister', threadId: 'ta', createdAt: at(1), input: { text: 'first question of ta' } });
      const b1 = await started({ userId: 'lister', threadId: 'tb', createdAt: at(2), input: { text: 'only question of tb' } });
      const a2 = await started({ userId: 'lister', threadId: 'ta', createdAt: at(3), agent: 'calculator', input: { expression: '1+1' } });
      const c1 = await started({ userId: 'lister', threadId: 'tc', createdAt: at(4), input: { text: 'tc' } });
      // Another user on the same thread id: a thread of their own, never in this listing.
      await started({ userId: 'intruder', threadId: 'ta', createdAt: at(9), input: { text: 'not yours' } });
      await finish(a1);
      await finish(b1);
      await finish(a2, 'failed');
      const threads = await store.listThreads('lister', { limit: 10 });
      expect(threads).toEqual([
        {
          threadId: 'tc',
          firstInput: { text: 'tc' },
          agent: 'echo',
          runs: 1,
          lastRunAt: at(4).toISOString(),
          lastStatus: 'running',
          lastRunId: c1.runId,
        },
        {
          threadId: 'ta',
          firstInput: { text: 'first question of ta' },
          agent: 'calculator',
          runs: 2,
          lastRunAt: at(3).toISOString(),
          lastStatus: 'failed',
          lastRunId: a2.runId,
        },
        {
          threadId: 'tb',
          firstInput: { text: 'only question of tb' },
          agent: 'echo',
          runs: 1,
          lastRunAt: at(2).toISOString(),
          lastStatus: 'completed',
          lastRunId: b1.runId,
        },
      ]);
      const page1 = await store.listThreads('lister', { limit: 2 });
      const page2 = await store.listThreads('lister', { limit: 2, before: { createdAt: page1[1].lastRunAt, runId: page1[1].lastRunId } });
      expect([...page1, ...page2].map((t) => t.threadId)).toEqual(['tc', 'ta', 'tb']);
      expect(await store.listThreads('intruder', { limit: 10 })).toEqual([
        expect.objectContaining({ threadId: 'ta', runs: 1, firstInput: { text: 'not yours' } }),
      ]);
      expect(await store.listThreads('nobody', { limit: 10 })).toEqual([]);
    });

    it("returns a thread's runs oldest first, only the user's", async () => {
      const at = (s: number) => new Date(T0 + s * 1000);
      const second = await started({ userId: 'reader', threadId: 'tr', createdAt: at(2) });
      const first = await started({ userId: 'reader', threadId: 'tr', createdAt: at(1) });
      await started({ userId: 'someone', threadId: 'tr', createdAt: at(3) });
      await started({ userId: 'reader', threadId: 'elsewhere', createdAt: at(4) });
      expect((await store.threadRuns('reader', 'tr')).map((r) => r.runId)).toEqual([first.runId, second.runId]);
      expect(await store.threadRuns('reader', 'nope')).toEqual([]);
    });

    it("deletes a user's thread with its events in one transaction, and nothing of another user's thread of the same id", async () => {
      const mine = [await started({ userId: 'del', threadId: 'td' }, 3), await started({ userId: 'del', threadId: 'td' }, 2)];
      const theirs = await started({ userId: 'keep', threadId: 'td' }, 2);
      const other = await started({ userId: 'del', threadId: 'kept' }, 1);
      expect(await store.withThread('del', 'td', (tx) => tx.deleteAll())).toBe(2);
      for (const run of mine) {
        expect(await store.getRun(run.runId)).toBeUndefined();
        expect(await store.getEvents(run.runId, 0)).toEqual([]);
      }
      expect(await store.getEvents(theirs.runId, 0)).toHaveLength(2);
      expect(await store.getEvents(other.runId, 0)).toHaveLength(1);
      expect(await store.withThread('del', 'td', (tx) => tx.deleteAll())).toBe(0);
      // A failure inside the transaction keeps everything.
      await expect(
        store.withThread('keep', 'td', async (tx) => {
          await tx.deleteAll();
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.getRun(theirs.runId)).toBeDefined();
      expect(await store.getEvents(theirs.runId, 0)).toHaveLength(2);
    });
  });

  describe('retention', () => {
    /** A run finished `finishedAt` (ms after T0), with `events` events. */
    async function finishedAt(ms: number, events = 2, overrides: Partial<NewRun> = {}): Promise<NewRun> {
      const run = await started(overrides, events - 1);
      const end = { ...event(run, events, 'agent_completed', { result: 'ok', durationMs: 1 }), ts: new Date(T0 + ms).toISOString() };
      await store.appendEvents([end]);
      return run;
    }

    it('deletes exactly the finished runs older than the cutoff, with their events, in batches of the limit', async () => {
      const old = [];
      for (let i = 0; i < 5; i++) old.push(await finishedAt(1000 + i, 3));
      const young = await finishedAt(10_000, 2);
      const onTheCutoff = await finishedAt(5_000, 2);
      const stillRunning = await started({ createdAt: new Date(T0) }, 2);
      const cutoff = new Date(T0 + 5_000);
      expect(await store.pruneFinishedRuns(cutoff, 2)).toEqual({ deleted: 2 });
      expect(await store.pruneFinishedRuns(cutoff, 2)).toEqual({ deleted: 2 });
      expect(await store.pruneFinishedRuns(cutoff, 2)).toEqual({ deleted: 1 });
      expect(await store.pruneFinishedRuns(cutoff, 2)).toEqual({ deleted: 0 });
      for (const run of old) {
        expect(await store.getRun(run.runId)).toBeUndefined();
        expect(await store.getEvents(run.runId, 0)).toEqual([]);
      }
      for (const run of [young, onTheCutoff, stillRunning]) expect(await store.getRun(run.runId)).toBeDefined();
      expect(await store.getEvents(young.runId, 0)).toHaveLength(2);
      expect(await store.getEvents(stillRunning.runId, 0)).toHaveLength(2);
    });

    if (backend.kind === 'postgres') {
      it('prunes on one node at a time: a second store finds the lock taken while a batch is open', async () => {
        await finishedAt(1000, 2);
        const other = await open(url);
        const pg = new Pool({ connectionString: url, max: 1 });
        try {
          // Hold the retention lock the way a pruning node does, inside an open transaction.
          const client = await pg.connect();
          await client.query('begin');
          await client.query(`select pg_advisory_xact_lock(hashtextextended('agent-pipeline:retention:' || current_schema(), 0))`);
          expect(await other.pruneFinishedRuns(new Date(T0 + 5000), 10)).toEqual({ deleted: 0, lockedElsewhere: true });
          await client.query('commit');
          client.release();
          expect(await other.pruneFinishedRuns(new Date(T0 + 5000), 10)).toEqual({ deleted: 1 });
        } finally {
          await pg.end();
        }
      });
    }

    if (backend.name === 'SQLite (file)') {
      it('gives the pages of deleted runs back to the file system', async () => {
        const file = url.slice('sqlite:'.length);
        const big = 'x'.repeat(4000);
        for (let i = 0; i < 60; i++) await finishedAt(1000 + i, 2, { input: { text: big } });
        const db = new Database(file, { readonly: true });
        const pages = () => Number(db.pragma('page_count', { simple: true }));
        try {
          expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // incremental
          const full = pages();
          expect((await store.pruneFinishedRuns(new Date(T0 + 5000), 100)).deleted).toBe(60);
          const freed = await store.reclaimSpace(10_000);
          expect(freed).toBeGreaterThan(50);
          expect(pages()).toBeLessThanOrEqual(full - freed);
          expect(await store.reclaimSpace(10_000)).toBe(0);
        } finally {
          db.close();
        }
      });
    }
  });

  describe('usage and traces', () => {
    const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const usage = (run: NewRun, day: string, model: string, inputTokens: number, outputTokens: number, newRun: boolean) => ({
      runId: run.runId,
      userId: run.userId,
      agent: run.agent,
      model,
      day,
      inputTokens,
      outputTokens,
      newRun,
    });

    it('keeps the traceparent a run continues, through createRun and batched writes alike', async () => {
      const created = await started({ traceparent: PARENT });
      const batched = newRun({ traceparent: PARENT });
      const plain = newRun();
      await store.write({ runs: [batched, plain], events: [...progress(batched, 1, 1), ...progress(plain, 1, 1)] });
      expect((await store.getRun(created.runId))?.traceparent).toBe(PARENT);
      expect((await store.getRun(batched.runId))?.traceparent).toBe(PARENT);
      expect(await store.getRun(plain.runId)).not.toHaveProperty('traceparent');
    });

    it("adds each model call to its run and to the user's day, agent and model", async () => {
      const first = await started({ userId: 'uma', agent: 'assistant' }, 1);
      const second = await started({ userId: 'uma', agent: 'assistant' }, 1);
      const other = await started({ userId: 'vic', agent: 'assistant' }, 1);
      expect(await store.getRun(first.runId)).not.toHaveProperty('usage');
      await store.recordUsage(usage(first, '2026-01-02', 'm1', 10, 2, true));
      await store.recordUsage(usage(first, '2026-01-02', 'm1', 30, 4, false));
      // Concurrent calls (two runs, or two nodes) add up.
      await Promise.all([
        store.recordUsage(usage(second, '2026-01-02', 'm1', 5, 5, true)),
        store.recordUsage(usage(second, '2026-01-02', 'm2', 100, 1, true)),
        store.recordUsage(usage(first, '2026-01-03', 'm1', 1, 1, true)),
        store.recordUsage(usage(other, '2026-01-02', 'm1', 999, 999, true)),
      ]);
      expect((await store.getRun(first.runId))?.usage).toEqual({ inputTokens: 41, outputTokens: 7 });
      expect((await store.getRun(second.runId))?.usage).toEqual({ inputTokens: 105, outputTokens: 6 });
      expect(await store.usageDays('uma', '2026-01-01', '2026-01-31')).toEqual([
        { day: '2026-01-02', agent: 'assistant', model: 'm1', inputTokens: 45, outputTokens: 11, runs: 2 },
        { day: '2026-01-02', agent: 'assistant', model: 'm2', inputTokens: 100, outputTokens: 1, runs: 1 },
        { day: '2026-01-03', agent: 'assistant', model: 'm1', inputTokens: 1, outputTokens: 1, runs: 1 },
      ]);
      expect(await store.usageDays('uma', '2026-01-03', '2026-01-03')).toHaveLength(1);
      expect(await store.usageDays('uma', '2026-02-01', '2026-02-28')).toEqual([]);
      expect(await store.tokensUsedOn('uma', '2026-01-02')).toBe(45 + 11 + 100 + 1);
      expect(await store.tokensUsedOn('uma', '2026-01-04')).toBe(0);
      expect(await store.tokensUsedOn('vic', '2026-01-02')).toBe(1998);
    });
  });
});

describe('parseDatabaseUrl', () => {
  it('reads sqlite files, sqlite::memory: and postgres URLs', () => {
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', filename: ':memory:' });
    expect(parseDatabaseUrl('sqlite:./data/agent-pipeline.db')).toEqual({
      kind: 'sqlite',
      filename: './data/agent-pipeline.db',
    });
    expect(parseDatabaseUrl('sqlite:/var/lib/runs.db')).toEqual({ kind: 'sqlite', filename: '/var/lib/runs.db' });
    for (const url of ['postgres://u:pw@db:5432/app', 'postgresql://db/app?sslmode=require']) {
      expect(parseDatabaseUrl(url)).toEqual({ kind: 'postgres', connectionString: url });
    }
  });

  it('refuses sqlite: without a file', () => {
    expect(() => parseDatabaseUrl('sqlite:')).toThrow(/names no file.*sqlite:<path>/);
  });

  it.each(['', 'mysql://db/app', 'http://localhost', 'postgres:/db', 'POSTGRES', './runs.db', 'memory'])(
    'refuses %p and says what is supported',
    (url) => {
      expect(() => parseDatabaseUrl(url)).toThrow(/is not supported\. Use sqlite:<path>, sqlite::memory: or postgres:/);
    },
  );

  it.each([
    ['mysql://root:s3cret-pw@db:3306/app', 's3cret-pw'],
    ['mysql://root:p@ss-w0rd@db/app', 'ss-w0rd'],
    ['redis://:s3cret-pw@cache:6379', 's3cret-pw'],
    ['pg://db/app?user=x&password=s3cret-pw', 's3cret-pw'],
  ])('masks the credentials of %p in the message', (url, secret) => {
    let message = '';
    try {
      parseDatabaseUrl(url);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/is not supported/);
    expect(message).toContain('***');
    expect(message).not.toContain(secret);
  });

  it('makes openRunStore reject before opening anything', async () => {
    await expect(openRunStore('mysql://root:s3cret-pw@db/app')).rejects.toThrow(/is not supported/);
  });
});

describe('openRunStore', () => {
  it('rejects (and does not hang) when PostgreSQL cannot be reached', async () => {
    await expect(openRunStore('postgres://nobody@127.0.0.1:1/none')).rejects.toThrow();
  });
});
