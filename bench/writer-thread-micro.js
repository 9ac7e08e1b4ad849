'use strict';
/**
 * Would the SQLite writer pay off on a worker thread? The app's own `SqliteBatchWriter` writing
 * echo batches (25 runs and their 100 events a transaction, as the saturated echo workload makes
 * them) on the event loop, against the same batches posted to a worker thread that writes them
 * with the same class on its own connection and answers when they are committed (the terminal
 * events would be published then).
 *
 *   node bench/writer-thread-micro.js [appDir=bench/.app] [--ms=1500] [--rounds=5]
 *
 * Prints, per run, the CPU the main thread spends (read from /proc/self/task/<pid>/stat, so it
 * leaves the worker out) and the CPU of the whole process (process.cpuUsage), medians of the rounds.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { randomUUID } = require('node:crypto');

const RUNS_PER_BATCH = 25;

function loadWriter(pipelineDist, file) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const { SqliteBatchWriter } = require(path.join(pipelineDist, 'store/sqlite-batch.writer'));
  return { db, writer: new SqliteBatchWriter(db) };
}

if (!isMainThread) {
  const { writer } = loadWriter(workerData.pipelineDist, workerData.file);
  parentPort.on('message', ({ id, batch }) => {
    // Dates lose nothing in the structured clone; the batch is written as the main thread made it.
    writer.write(batch);
    parentPort.postMessage(id);
  });
} else {
  const { microArgs, median, pipelineDistOf } = require('./common');
  const args = microArgs();
  const appDir = process.argv[2] && !process.argv[2].startsWith('--') ? args.appDir : path.join(__dirname, '.app');
  const ms = args.ms;
  const rounds = args.rounds;
  const pipelineDist = pipelineDistOf(appDir);
  const { v7: uuidv7 } = require('uuid');

  let n = 0;
  const batch = () => {
    const runs = [];
    const events = [];
    for (let i = 0; i < RUNS_PER_BATCH; i++) {
      const now = new Date();
      const runId = uuidv7();
      const threadId = uuidv7();
      runs.push({
        runId,
        threadId,
        userId: `user-${n++ % 50}`,
        agent: 'echo',
        input: { text: 'hello from the benchmark' },
        createdAt: now,
        nodeId: 'bench',
        leaseUntil: new Date(now.getTime() + 30_000),
      });
      const base = { runId, threadId, agent: 'echo', ts: now.toISOString() };
      events.push(
        { ...base, seq: 1, type: 'agent_started', data: { input: { text: 'hello from the benchmark' } } },
        { ...base, seq: 2, type: 'agent_thinking', data: { thought: 'Echoing the text back', step: 1 } },
        { ...base, seq: 3, type: 'agent_message_delta', data: { messageId: randomUUID(), delta: 'hello from the benchmark' } },
        { ...base, seq: 4, type: 'agent_completed', data: { result: 'hello from the benchmark', durationMs: 1 } },
      );
    }
    return { runs, events };
  };

  const CLOCK_TICK_US = 1e6 / 100; // USER_HZ
  const mainThreadCpuUs = () => {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
  };
  const cpuUs = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };

  async function measure(write) {
    const m0 = mainThreadCpuUs();
    const p0 = cpuUs();
    const t0 = Date.now();
    let runs = 0;
    while (Date.now() - t0 < ms) {
      await write(batch());
      runs += RUNS_PER_BATCH;
    }
    return { mainUs: (mainThreadCpuUs() - m0) / runs, processUs: (cpuUs() - p0) / runs };
  }

  (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-thread-'));
    const { openRunStore } = require(path.join(pipelineDist, 'store/run-store.factory'));
    for (const name of ['main.db', 'worker.db']) await (await openRunStore(`sqlite:${path.join(dir, name)}`)).close();
    const onLoop = loadWriter(pipelineDist, path.join(dir, 'main.db'));
    const worker = new Worker(__filename, { workerData: { pipelineDist, file: path.join(dir, 'worker.db') } });
    const pending = new Map();
    worker.on('message', (id) => {
      pending.get(id)();
      pending.delete(id);
    });
    let ids = 0;
    const variants = {
      'on the event loop (today)': async (b) => onLoop.writer.write(b),
      'posted to a worker thread, awaited until committed': (b) =>
        new Promise((resolve) => {
          const id = ids++;
          pending.set(id, resolve);
          worker.postMessage({ id, batch: b });
        }),
    };
    const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (let r = 0; r <= rounds; r++)
      for (const [name, write] of Object.entries(variants)) {
        const m = await measure(write);
        if (r > 0) results[name].push(m); // round 0 warms up
      }
    for (const [name, rs] of Object.entries(results))
      console.log(
        `${name.padEnd(52)} main thread ${median(rs.map((x) => x.mainUs))
          .toFixed(1)
          .padStart(6)} µs CPU/run, process ${median(rs.map((x) => x.processUs))
          .toFixed(1)
          .padStart(6)} µs CPU/run`,
      );
    await worker.terminate();
    onLoop.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  })();
}
