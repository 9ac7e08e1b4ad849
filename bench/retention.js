'use strict';
/**
 * Retention benchmark: what deleting old runs costs the runs being served, and the disk it gives
 * back, on a SQLite file store (WAL, incremental auto-vacuum, like the default DATABASE_URL).
 *
 *   npm run build && node bench/retention.js [--runs=20000] [--batch=200] [--pause=20]
 *
 * Fills a fresh store with `runs` finished echo-like runs (4 events each, ~100-character
 * messages), all older than the retention limit, then runs one retention pass while a reader asks
 * for a run every 2 ms (like `GET /runs/:id`). Reports bytes per run on disk, the pass (batches,
 * longest batch), the event-loop delay during the pass (max, p99), the reader's worst latency, and
 * the file size before and after (pages given back by incremental vacuum).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const RUNS = Number(args.runs ?? 20000);
const BATCH = Number(args.batch ?? 200);
const PAUSE = Number(args.pause ?? 20);
// The pipeline's build (npm run build): packages/nestjs/dist.
const dist = path.resolve(__dirname, '..', args.app ?? 'packages/nestjs/dist');
const { openRunStore } = require(path.join(dist, 'store/run-store.factory'));
const { RunRetention } = require(path.join(dist, 'retention/run-retention.service'));
const { RunDeletionHooks } = require(path.join(dist, 'store/run-deletion.hooks'));
const { resolvePipelineOptions } = require(path.join(dist, 'pipeline.options'));
const PIPELINE_DEFAULTS = resolvePipelineOptions({ auth: { development: true } });
const { Logger } = require('@nestjs/common');

const DAY = 86_400_000;

function fileBytes(file) {
  return ['', '-wal'].reduce((sum, suffix) => sum + (fs.existsSync(file + suffix) ? fs.statSync(file + suffix).size : 0), 0);
}

async function main() {
  Logger.overrideLogger(false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retention-bench-'));
  const file = path.join(dir, 'runs.db');
  const store = await openRunStore(`sqlite:${file}`);
  const old = Date.now() - 40 * DAY;
  const text = 'The quick brown fox jumps over the lazy dog, again and again, until the benchmark has its rows.';
  const ids = [];
  for (let i = 0; i < RUNS; i += 500) {
    const runs = [];
    const events = [];
    for (let j = i; j < Math.min(RUNS, i + 500); j++) {
      const runId = randomUUID();
      const threadId = randomUUID();
      ids.push(runId);
      const createdAt = new Date(old + j);
      runs.push({
        runId,
        threadId,
        userId: `u${j % 50}`,
        agent: 'echo',
        input: { text },
        createdAt,
        nodeId: 'bench',
        leaseUntil: createdAt,
      });
      const base = { runId, threadId, agent: 'echo', ts: new Date(old + j + 5).toISOString() };
      events.push(
        { ...base, seq: 1, type: 'agent_started', data: { input: { text } } },
        { ...base, seq: 2, type: 'agent_thinking', data: { thought: 'Echoing the input', step: 1 } },
        { ...base, seq: 3, type: 'agent_message_delta', data: { messageId: randomUUID(), delta: text } },
        { ...base, seq: 4, type: 'agent_completed', data: { result: text, durationMs: 1 } },
      );
    }
    await store.write({ runs, events });
  }
  // A checkpoint folds the WAL into the file, so the sizes below are the database's own.
  const sqlite = store.options.sqlite;
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const before = fileBytes(file);

  // Times of each store call the pass makes: batches and reclaim steps, separately.
  const timings = { prune: [], reclaim: [] };
  for (const [method, list] of [
    ['pruneFinishedRuns', timings.prune],
    ['reclaimSpace', timings.reclaim],
  ]) {
    const original = store[method].bind(store);
    store[method] = async (...a) => {
      const t = performance.now();
      try {
        return await original(...a);
      } finally {
        list.push(performance.now() - t);
      }
    };
  }
  const stats = (list) => {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1));
    return { count: list.length, median: at(0.5), p99: at(0.99), max: at(1), first: Number((list[0] ?? 0).toFixed(1)) };
  };
  const hooks = new RunDeletionHooks();
  const retention = new RunRetention(
    store,
    { ...PIPELINE_DEFAULTS, runRetentionDays: 30, retentionBatchSize: BATCH, retentionBatchPauseMs: PAUSE },
    hooks,
  );
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let worstRead = 0;
  let reads = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const t = performance.now();
      await store.getRun(ids[Math.floor(Math.random() * ids.length)]);
      worstRead = Math.max(worstRead, performance.now() - t);
      reads++;
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  delay.enable();
  const started = performance.now();
  const pass = await retention.prune(new Date());
  const elapsed = performance.now() - started;
  delay.disable();
  reading = false;
  await reader;
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const after = fileBytes(file);
  const result = {
    runs: RUNS,
    bytesPerRun: Math.round(before / RUNS),
    pass: { ...pass, longestBatchMs: Number(pass.longestBatchMs.toFixed(1)), elapsedMs: Math.round(elapsed) },
    eventLoopDelayMs: { max: Number((delay.max / 1e6).toFixed(1)), p99: Number((delay.percentile(99) / 1e6).toFixed(1)) },
    batchMs: stats(timings.prune),
    reclaimStepMs: stats(timings.reclaim),
    reader: { reads, worstLatencyMs: Number(worstRead.toFixed(1)) },
    fileBytes: { before, after },
  };
  console.log(JSON.stringify(result, null, 2));
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
