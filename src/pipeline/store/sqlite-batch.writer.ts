import type { Database, Statement } from 'better-sqlite3';
import { isTerminalEventType, statusForTerminal } from '../events/agent-event.types';
import type { NewRun, WriteBatch } from './run-store.interface';

/**
 * The SQLite write path of the run store: every batch in one transaction of statements prepared
 * once, one row per statement.
 *
 * This is the store's hot path (every event of every run goes through it), and on SQLite it is
 * all CPU on the event loop. Kysely builds, freezes and compiles a query tree per call, and a
 * multi-row INSERT has different SQL text for every batch size; prepared single-row statements
 * skip all of that and cost about a third. Reads and PostgreSQL keep using Kysely.
 */
export class SqliteBatchWriter {
  private readonly insertRun: Statement;
  private readonly insertEvent: Statement;
  private readonly finishRun: Statement;
  private readonly writeAll: (batch: WriteBatch) => void;

  constructor(database: Database) {
    // `or ignore` / `do nothing`: a retried batch may carry rows already written (the batch is
    // idempotent, see RunStore.write).
    this.insertRun = database.prepare(
      `insert into runs (run_id, thread_id, user_id, agent, status, input, result, error, created_at, finished_at, node_id, lease_until)
       values (?, ?, ?, ?, 'running', ?, null, null, ?, null, ?, ?) on conflict (run_id) do nothing`,
    );
    this.insertEvent = database.prepare(
      'insert into events (run_id, seq, type, envelope) values (?, ?, ?, ?) on conflict (run_id, seq) do nothing',
    );
    this.finishRun = database.prepare(
      "update runs set status = ?, result = ?, error = ?, finished_at = ? where run_id = ? and status = 'running'",
    );
    this.writeAll = database.transaction((batch: WriteBatch) => {
      for (const run of batch.runs) this.writeRun(run);
      for (const e of batch.events) {
        this.insertEvent.run(e.runId, e.seq, e.type, JSON.stringify(e));
        if (!isTerminalEventType(e.type)) continue;
        const data = e.data as { result?: unknown; code?: string; message?: string };
        this.finishRun.run(
          statusForTerminal(e.type),
          e.type === 'agent_completed' ? JSON.stringify(data.result ?? null) : null,
          e.type === 'agent_error' ? JSON.stringify({ code: data.code, message: data.message }) : null,
          e.ts,
          e.runId,
        );
      }
    });
  }

  /** Writes the batch's runs, then its events, in one transaction; throws if it was rolled back. */
  write(batch: WriteBatch): void {
    this.writeAll(batch);
  }

  private writeRun(run: NewRun): void {
    this.insertRun.run(
      run.runId,
      run.threadId,
      run.userId,
      run.agent,
      JSON.stringify(run.input ?? null),
      run.createdAt.toISOString(),
      run.nodeId,
      run.leaseUntil.toISOString(),
    );
  }
}
