'use strict';
/**
 * The baseline's store: every run and every event kept in SQLite (WAL, a file, as the app's
 * default), written behind the sockets the way a hand-written server of this protocol would:
 *
 * - events are published as they happen and queued in memory; one transaction per event-loop
 *   turn writes what was queued (prepared statements, one row each), at most `flushMs` after the
 *   first event, and at once (the next turn) when a run ends;
 * - a terminal event is published only after the transaction that stored it has committed (the
 *   protocol's guarantee: a client that saw the end can read the whole run back);
 * - a run's row is written with its state at flush time: a run that ended within its first batch
 *   is inserted finished; a longer one is inserted running and finished by a later batch;
 * - the schema has what the protocol's reads need: events keyed by (run_id, seq) without a rowid,
 *   runs by id, and an index to list a user's runs by time;
 * - WAL checkpoints run on a thread of their own (a second connection, `PASSIVE`, every 500 ms),
 *   as the app's do, so no commit waits for a checkpoint's copy and `fsync`.
 */
const { Worker } = require('node:worker_threads');
const Database = require('better-sqlite3');

const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const db = new (require(workerData.driver))(workerData.filename);
db.pragma('busy_timeout = 5000');
setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 500);
`;

const DDL = `
create table if not exists runs (
  run_id text primary key, thread_id text not null, user_id text not null, agent text not null,
  status text not null, input text not null, result text, error text,
  created_at text not null, finished_at text
);
create index if not exists runs_user_created on runs (user_id, created_at, run_id);
create table if not exists events (
  run_id text not null, seq integer not null, type text not null, envelope text not null,
  primary key (run_id, seq)
) without rowid;
`;

class BaselineStore {
  /** @param {string} filename SQLite file (`:memory:` works too) */
  constructor(filename, { flushMs = 25 } = {}) {
    this.db = new Database(filename);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(DDL);
    if (filename !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 10000');
      this.checkpointer = new Worker(CHECKPOINTER, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), filename },
      });
      this.checkpointer.unref();
    }
    this.flushMs = flushMs;
    this.upsertRun = this.db.prepare(
      `insert into runs (run_id, thread_id, user_id, agent, status, input, result, error, created_at, finished_at)
       values (@run_id, @thread_id, @user_id, @agent, @status, @input, @result, @error, @created_at, @finished_at)
       on conflict (run_id) do update set status = excluded.status, result = excluded.result,
         error = excluded.error, finished_at = excluded.finished_at`,
    );
    this.insertEvent = this.db.prepare('insert into events (run_id, seq, type, envelope) values (?, ?, ?, ?)');
    this.writeAll = this.db.transaction((runs, events) => {
      for (const run of runs) this.upsertRun.run(run);
      for (const e of events) this.insertEvent.run(e.runId, e.seq, e.type, JSON.stringify(e));
    });
    /** Runs whose row changed since the last flush (row objects, updated in place). */
    this.dirtyRuns = new Map();
    this.events = [];
    /** Publishes waiting for the next commit (terminal events). */
    this.afterCommit = [];
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** A new run: its row is written with the next batch. */
  startRun(row) {
    this.dirtyRuns.set(row.run_id, row);
    this.schedule();
  }

  /** An event already published: stored with the next batch. */
  append(envelope) {
    this.events.push(envelope);
    this.schedule();
  }

  /** A terminal event: stored with its run's new state, then published (`publish`) after the commit. */
  end(row, envelope, publish) {
    this.dirtyRuns.set(row.run_id, row);
    this.events.push(envelope);
    this.afterCommit.push(publish);
    this.immediate ??= setImmediate(() => this.flush());
  }

  schedule() {
    if (!this.timer && !this.immediate) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  flush() {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    const runs = [...this.dirtyRuns.values()];
    const events = this.events;
    const publishes = this.afterCommit;
    this.dirtyRuns.clear();
    this.events = [];
    this.afterCommit = [];
    if (runs.length > 0 || events.length > 0) this.writeAll(runs, events);
    for (const publish of publishes) publish();
  }

  close() {
    this.flush();
    this.db.close();
    void this.checkpointer?.terminate();
  }
}

module.exports = { BaselineStore };
