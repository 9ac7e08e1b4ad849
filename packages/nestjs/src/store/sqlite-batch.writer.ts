import type { Database, Statement } from 'better-sqlite3';
import { isTerminalEventType } from '@agent-pipeline/protocol';
import type { WriteBatch } from './run-store.interface';
import { outcomeColumns, runRow, stepRow, waitingTransition, type RunOutcomeColumns } from './run-store.rows';

/**
 * The SQLite write path of the run store: every batch in one transaction of statements prepared
 * once, one row per statement.
 *
 * This is the store's hot path (every event of every run goes through it), and on SQLite it is
 * all CPU on the event loop. Kysely builds, freezes and compiles a query tree per call, and a
 * multi-row INSERT has different SQL text for every batch size; prepared single-row statements
 * skip all of that. A run that starts and ends within one batch (most short runs under load) is
 * inserted already finished, so its row is written once and never enters `runs_running`.
 * Reads and PostgreSQL keep using Kysely. Rows are made by the same functions as Kysely's path
 * (`run-store.rows.ts`).
 */
export class SqliteBatchWriter {
  private readonly insertRun: Statement;
  private readonly insertEvent: Statement;
  private readonly finishRun: Statement;
  private readonly moveRun: Statement;
  private readonly insertStep: Statement;
  private readonly writeAll: (batch: WriteBatch) => void;

  constructor(database: Database) {
    // `do nothing` on conflict: a retried batch may carry rows already written (RunStore.write).
    this.insertRun = database.prepare(
      `insert into runs (run_id, thread_id, user_id, agent, status, input, result, error, created_at, finished_at, node_id, lease_until, thread_seq, durable, traceparent)
       values (@run_id, @thread_id, @user_id, @agent, @status, @input, @result, @error, @created_at, @finished_at, @node_id, @lease_until, @thread_seq, @durable, @traceparent)
       on conflict (run_id) do nothing`,
    );
    this.insertEvent = database.prepare(
      'insert into events (run_id, seq, type, envelope) values (?, ?, ?, ?) on conflict (run_id, seq) do nothing',
    );
    this.finishRun = database.prepare(
      `update runs set status = @status, result = @result, error = @error, finished_at = @finished_at
       where run_id = @run_id and status in ('running', 'waiting')`,
    );
    this.moveRun = database.prepare('update runs set status = @to where run_id = @run_id and status = @from');
    this.insertStep = database.prepare(
      `insert into run_steps (run_id, name, seq, thinking_step, result, error)
       values (@run_id, @name, @seq, @thinking_step, @result, @error) on conflict (run_id, name) do nothing`,
    );
    this.writeAll = database.transaction((batch: WriteBatch) => this.writeBatch(batch));
  }

  /** Writes the batch's runs, then its events, in one transaction; throws if it was rolled back. */
  write(batch: WriteBatch): void {
    this.writeAll(batch);
  }

  private writeBatch({ runs, events, steps }: WriteBatch): void {
    if (steps) for (const step of steps) this.insertStep.run(stepRow(step));
    // The first terminal event of each run of this batch: that run is inserted finished.
    let endings: Map<string, RunOutcomeColumns> | undefined;
    if (runs.length > 0) {
      const fresh = new Set(runs.map((r) => r.runId));
      for (const e of events) {
        if (!isTerminalEventType(e.type) || !fresh.has(e.runId) || endings?.has(e.runId)) continue;
        (endings ??= new Map()).set(e.runId, outcomeColumns(e.type, e));
      }
    }
    for (const run of runs) {
      const outcome = endings?.get(run.runId);
      // Already stored (a batch written again): its row is finished by the UPDATE below instead.
      if (this.insertRun.run(runRow(run, outcome)).changes === 0 && outcome) endings?.delete(run.runId);
    }
    for (const e of events) {
      this.insertEvent.run(e.runId, e.seq, e.type, JSON.stringify(e));
      const waiting = waitingTransition(e.type);
      if (waiting) {
        // A run inserted finished by this batch stays finished: `from` no longer matches.
        this.moveRun.run({ ...waiting, run_id: e.runId });
        continue;
      }
      if (!isTerminalEventType(e.type) || endings?.has(e.runId)) continue;
      this.finishRun.run({ ...outcomeColumns(e.type, e), run_id: e.runId });
    }
  }
}
