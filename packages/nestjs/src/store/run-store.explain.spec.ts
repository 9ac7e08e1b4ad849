import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import { Client, Pool } from 'pg';
import { KyselyRunStore } from './run-store.kysely';
import type { PipelineDatabase } from './run-store.schema';

/**
 * The listing, deletion and retention queries of the store, as it really sends them (captured
 * from Kysely's log), EXPLAINed on a database where one user has 100,000 runs: none reads a whole
 * table or sorts a user's whole history. A missing or misshaped index makes this fail.
 */

const HEAVY_RUNS = 100_000;
const THREADS = 1000;

interface Plan {
  sql: string;
  lines: string[];
}

async function exercise(store: KyselyRunStore): Promise<void> {
  const [second] = await store.listRuns('heavy', { limit: 1, before: { createdAt: '2026-01-02T00:00:00.000Z', runId: 'r50000' } });
  expect(second).toBeDefined();
  await store.listRuns('heavy', { limit: 21 });
  await store.listRuns('heavy', { limit: 21, threadId: 't7' });
  await store.listRuns('heavy', { limit: 21, threadId: 't7', before: { createdAt: second.createdAt, runId: second.runId } });
  expect(await store.listThreads('heavy', { limit: 21 })).toHaveLength(21);
  await store.listThreads('heavy', { limit: 21, before: { createdAt: second.createdAt, runId: second.runId } });
  expect(await store.threadRuns('heavy', 't7')).toHaveLength(HEAVY_RUNS / THREADS);
  await store.withThread('heavy', 't8', async (tx) => {
    await tx.inFlight();
    await tx.deleteAll();
  });
  await store.pruneFinishedRuns(new Date('2020-01-01T00:00:00.000Z'), 100);
  // An idempotency key is one probe of the user's keys (runs_idempotency_key).
  expect(await store.findIdempotentRun('heavy', 'no-such-key', new Date(0))).toBeUndefined();
}

function expectNoFullScan(plans: Plan[], fullScan: RegExp): void {
  // The in-flight runs of one thread are sorted by their thread order: a sort of one thread's
  // rows (read by the thread index), never of a user's history.
  const offending = plans.filter((p) =>
    p.lines.some((l) => fullScan.test(l) && !(/TEMP B-TREE/.test(l) && /order by "thread_seq"/.test(p.sql))),
  );
  expect(offending.map((p) => `${p.sql}\n  ${p.lines.join('\n  ')}`)).toEqual([]);
  expect(plans.length).toBeGreaterThanOrEqual(10);
}

const touchesRuns = (q: CompiledQuery) => /\b(from|update|into)\s+"?(runs|events)"?/i.test(q.sql) && !/^\s*insert/i.test(q.sql);

describe('store query plans with 100,000 runs of one user', () => {
  it('SQLite: every listing, deletion and retention query searches an index (no SCAN of runs or events, no sort of a history)', async () => {
    const database = new Database(':memory:');
    const captured: CompiledQuery[] = [];
    const db = new Kysely<PipelineDatabase>({
      dialect: new SqliteDialect({ database }),
      log: (e) => {
        if (e.level === 'query') captured.push(e.query);
      },
    });
    const store = new KyselyRunStore(db, { dialect: 'sqlite' });
    try {
      await store.migrate();
      database.exec(`
        with recursive c(x) as (select 1 union all select x + 1 from c where x < ${HEAVY_RUNS + 10_000})
        insert into runs (run_id, thread_id, user_id, agent, status, input, created_at, finished_at, node_id, lease_until, thread_seq)
        select 'r' || x, 't' || (x % ${THREADS}), case when x <= ${HEAVY_RUNS} then 'heavy' else 'u' || (x % 100) end, 'echo', 'completed',
               '{"text":"hi"}', strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + x, 'unixepoch'),
               strftime('%Y-%m-%dT%H:%M:%fZ', 1767225601 + x, 'unixepoch'), 'n', '2026-01-01T00:00:00.000Z', 0 from c;
        insert into events (run_id, seq, type, envelope) select run_id, 1, 'agent_completed', '{}' from runs;
        analyze;`);
      captured.length = 0;
      await exercise(store);
      const plans = captured.filter(touchesRuns).map((q) => ({
        sql: q.sql,
        lines: (database.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as Array<{ detail: string }>).map(
          (r) => r.detail,
        ),
      }));
      expectNoFullScan(plans, /^SCAN (runs|events|r|c|f|l)\b|TEMP B-TREE FOR ORDER BY/);
    } finally {
      await db.destroy();
    }
  });

  const baseUrl =
    process.env.TEST_DATABASE_URL ?? (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : undefined);
  (baseUrl ? it : it.skip)(
    'PostgreSQL: every listing, deletion and retention query uses an index (no Seq Scan of runs or events)',
    async () => {
      const schema = `explain_${randomBytes(4).toString('hex')}`;
      const admin = new Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      const url = `${baseUrl}${baseUrl!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const captured: CompiledQuery[] = [];
      const pool = new Pool({ connectionString: url, max: 2 });
      const db = new Kysely<PipelineDatabase>({
        dialect: new PostgresDialect({ pool }),
        log: (e) => {
          if (e.level === 'query') captured.push(e.query);
        },
      });
      const store = new KyselyRunStore(db, { dialect: 'postgres' });
      try {
        await store.migrate();
        await sql`
        insert into runs (run_id, thread_id, user_id, agent, status, input, created_at, finished_at, node_id, lease_until, thread_seq)
        select 'r' || x, 't' || (x % ${sql.lit(THREADS)}), case when x <= ${sql.lit(HEAVY_RUNS)} then 'heavy' else 'u' || (x % 100) end,
               'echo', 'completed', '{"text":"hi"}',
               to_char(timestamp '2026-01-01' + x * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               to_char(timestamp '2026-01-01' + (x + 1) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'n', '2026-01-01T00:00:00.000Z', 0
        from generate_series(1, ${sql.lit(HEAVY_RUNS + 10_000)}) as x`.execute(db);
        await sql`insert into events (run_id, seq, type, envelope) select run_id, 1, 'agent_completed', '{}' from runs`.execute(db);
        await sql`analyze runs`.execute(db);
        await sql`analyze events`.execute(db);
        captured.length = 0;
        await exercise(store);
        const client = await pool.connect();
        const plans: Plan[] = [];
        try {
          for (const q of captured.filter(touchesRuns)) {
            const { rows } = await client.query(`explain ${q.sql}`, q.parameters as unknown[]);
            plans.push({ sql: q.sql, lines: rows.map((r: Record<string, string>) => r['QUERY PLAN']) });
          }
        } finally {
          client.release();
        }
        expectNoFullScan(plans, /Seq Scan on (runs|events)\b/);
      } finally {
        await db.destroy();
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.end();
      }
    },
    60_000,
  );
});
