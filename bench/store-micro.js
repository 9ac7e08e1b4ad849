'use strict';
/**
 * Store microbenchmark: what persisting one echo run costs on SQLite, through the app's run store
 * (Kysely over better-sqlite3, a WAL file like the default DATABASE_URL) against the same rows
 * written with prepared better-sqlite3 statements.
 *
 *   node bench/store-micro.js [appDir=dist] [--ms=1500] [--rounds=3] [--json]
 *
 * One "run" = what the app writes for an echo run when its terminal event forces a flush:
 * `createRun` (one INSERT), then `appendEvents` with the run's 4 events (one transaction: INSERT
 * of the events, UPDATE of the run). Reports CPU µs per run (process CPU time) and runs/s. A third
 * variant writes 50 runs per transaction: the floor that coalescing flushes across runs would reach
 * (and, when the store has `write({ runs, events })`, the app's store is measured that way too).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { v7: uuidv7 } = require('uuid');
const { performance } = require('node:perf_hooks');

const { microArgs, median, pipelineDistOf } = require('./common');

const { appDir, ms: MS, rounds: ROUNDS, json: JSON_OUT } = microArgs();

function runEvents(runId, threadId) {
  const ts = new Date().toISOString();
  const base = { runId, threadId, agent: 'echo', ts };
  return [
    { ...base, seq: 1, type: 'agent_started', data: { input: { text: 'hello from the benchmark' } } },
    { ...base, seq: 2, type: 'agent_thinking', data: { thought: 'Echoing the text back', step: 1 } },
    { ...base, seq: 3, type: 'agent_message_delta', data: { messageId: randomUUID(), delta: 'hello from the benchmark' } },
    { ...base, seq: 4, type: 'agent_completed', data: { result: 'hello from the benchmark', durationMs: 1 } },
  ];
}

let runCount = 0;

/** A run as the app makes them: time-ordered ids, a new thread, one of the echo workload's 50 users. */
function newRun() {
  const now = new Date();
  return {
    runId: uuidv7(),
    threadId: uuidv7(),
    userId: `store-user-${runCount++ % 50}`,
    agent: 'echo',
    input: { text: 'hello from the benchmark' },
    createdAt: now,
    nodeId: 'bench',
    leaseUntil: new Date(now.getTime() + 30_000),
  };
}

/** The same rows as the app's store, with statements prepared once. */
function preparedStore(file) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insertRun = db.prepare(
    'insert into runs (run_id, thread_id, user_id, agent, status, input, result, error, created_at, finished_at, node_id, lease_until) values (?, ?, ?, ?, ?, ?, null, null, ?, null, ?, ?)',
  );
  const insertEvent = db.prepare(
    'insert into events (run_id, seq, type, envelope) values (?, ?, ?, ?) on conflict (run_id, seq) do nothing',
  );
  const finishRun = db.prepare(
    "update runs set status = ?, result = ?, error = null, finished_at = ? where run_id = ? and status = 'running'",
  );
  const append = db.transaction((events) => {
    for (const e of events) insertEvent.run(e.runId, e.seq, e.type, JSON.stringify(e));
    for (const e of events)
      if (e.type === 'agent_completed') finishRun.run('completed', JSON.stringify(e.data.result ?? null), e.ts, e.runId);
  });
  const batch = db.transaction((runs) => {
    for (const { run, events } of runs) {
      insertRun.run(
        run.runId,
        run.threadId,
        run.userId,
        run.agent,
        'running',
        JSON.stringify(run.input ?? null),
        run.createdAt.toISOString(),
        run.nodeId,
        run.leaseUntil.toISOString(),
      );
      append(events);
    }
  });
  return {
    /** Many runs in one transaction: what coalescing the flushes of runs ending together would give. */
    writeRuns: (runs) => batch(runs),
    async createRun(r) {
      insertRun.run(
        r.runId,
        r.threadId,
        r.userId,
        r.agent,
        'running',
        JSON.stringify(r.input ?? null),
        r.createdAt.toISOString(),
        r.nodeId,
        r.leaseUntil.toISOString(),
      );
    },
    async appendEvents(events) {
      append(events);
    },
    close: () => db.close(),
  };
}

async function measure(store, batched) {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    if (batched) {
      const runs = [];
      for (let i = 0; i < 50; i++) {
        const run = newRun();
        runs.push({ run, events: runEvents(run.runId, run.threadId) });
      }
      if (store.writeRuns) store.writeRuns(runs);
      else await store.write({ runs: runs.map((r) => r.run), events: runs.flatMap((r) => r.events) });
    } else {
      for (let i = 0; i < 50; i++) {
        const run = newRun();
        await store.createRun(run);
        await store.appendEvents(runEvents(run.runId, run.threadId));
      }
    }
    n += 50;
    t = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { runsPerSec: n / ((t - t0) / 1000), cpuUsPerRun: (cpu.user + cpu.system) / n };
}

async function main() {
  const pipelineDist = pipelineDistOf(appDir);
  const { openRunStore } = require(path.join(pipelineDist, 'store/run-store.factory'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-micro-'));
  try {
    const appStore = await openRunStore(`sqlite:${path.join(dir, 'app.db')}`);
    // Same schema for the prepared variant: migrate a second file with the app's own migrations.
    const schemaStore = await openRunStore(`sqlite:${path.join(dir, 'prepared.db')}`);
    await schemaStore.close();
    const prepared = preparedStore(path.join(dir, 'prepared.db'));
    const variants = {
      'app run store, createRun + appendEvents per run': [appStore, false],
      'prepared statements, a transaction per run': [prepared, false],
      'prepared statements, 50 runs per transaction': [prepared, true],
    };
    // The store's group-commit path, when it has one: 50 runs and their events in one write().
    if (typeof appStore.write === 'function') variants['app run store, 50 runs per write() (group commit)'] = [appStore, true];
    const rounds = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [name, [store, batched]] of Object.entries(variants)) {
        const r = await measure(store, batched);
        if (round > 0) rounds[name].push(r); // round 0 warms up
      }
    }
    await appStore.close();
    prepared.close();
    const out = Object.entries(rounds).map(([name, rs]) => ({
      name,
      runsPerSec: median(rs.map((r) => r.runsPerSec)),
      cpuUsPerRun: median(rs.map((r) => r.cpuUsPerRun)),
    }));
    if (JSON_OUT) process.stdout.write(`STORE-RESULT ${JSON.stringify(out)}\n`);
    else
      for (const r of out)
        console.log(
          `${r.name.padEnd(48)} ${r.runsPerSec.toFixed(0).padStart(8)} runs/s ${r.cpuUsPerRun.toFixed(1).padStart(8)} µs CPU/run`,
        );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
