'use strict';
/**
 * What publishing a durable run's events only once they are stored costs (docs/performance.md,
 * "Durable runs"). One server process (the built server with the test agents of
 * test/support/fixtures/test-agents.server.js, SQLite file), three agents that emit the same
 * events: `ticker` (not durable: published first, stored with the next batch), `durable-ticker`
 * (durable, no steps: published once stored) and `countdown` (durable, each tick a step).
 *
 *   node bench/durable-publish.js [--seconds 5] [--users 20]
 *
 * Measures, per agent: the delivery latency of events (receive time at the client minus the
 * event's `ts`, set when it was emitted), the runs per second of short runs (one tick each) from
 * `users` sockets back to back, and the event rate of one long run emitting as fast as it can.
 * Needs `npm run build` first.
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const { io } = require('socket.io-client');
const { ROOT, TERMINAL, percentiles, stripAnsi } = require('./common');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 5);
const USERS = arg('users', 20);
const SECRET = 'bench-secret-0123456789abcdef';
const AGENTS = ['ticker', 'durable-ticker', 'countdown'];

async function startServer(dir) {
  const child = spawn(process.execPath, [path.join(ROOT, 'test/support/fixtures/test-agents.server.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NO_COLOR: '1',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      DATABASE_URL: `sqlite:${path.join(dir, 'runs.db')}`,
      RATE_LIMIT_RUNS_PER_MINUTE: '0',
      MAX_CONCURRENT_RUNS_PER_USER: '100',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (chunk) => {
      out += stripAnsi(chunk.toString());
      const m = /Listening on (http:\/\/[^\s:]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`server exited:\n${out}`)));
  });
  return { child, url };
}

function connect(url, userId) {
  const token = jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: 3600 });
  const socket = io(`${url}/agents`, { auth: { token }, transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Runs `agent` once on `socket`; resolves its events with their arrival times. */
function runOnce(socket, agent, input) {
  return new Promise((resolve, reject) => {
    const events = [];
    let runId;
    const early = [];
    const onEvent = (e) => {
      const item = { e, at: Date.now() };
      if (!runId) return void early.push(item);
      if (e.runId !== runId) return;
      events.push(item);
      if (TERMINAL.has(e.type)) {
        socket.offAny(onAny);
        resolve(events);
      }
    };
    const onAny = (_type, e) => e && e.runId && onEvent(e);
    socket.onAny(onAny);
    socket.timeout(30_000).emit('run:start', { agent, input }, (err, ack) => {
      if (err || !ack.ok) return reject(err ?? new Error(JSON.stringify(ack)));
      runId = ack.runId;
      for (const item of early.splice(0)) onEvent(item.e);
    });
  });
}

async function latency(url, agent) {
  const socket = await connect(url, `latency-${agent}`);
  const delays = [];
  for (let i = 0; i < 30; i++) {
    for (const { e, at } of await runOnce(socket, agent, { steps: 20, intervalMs: 10 })) delays.push(at - Date.parse(e.ts));
  }
  socket.disconnect();
  const [p50, p99] = percentiles(delays);
  return { events: delays.length, p50Ms: p50, p99Ms: p99 };
}

async function throughput(url, agent) {
  const sockets = await Promise.all(Array.from({ length: USERS }, (_, i) => connect(url, `tp-${agent}-${i}`)));
  const until = Date.now() + SECONDS * 1000;
  let runs = 0;
  const started = Date.now();
  await Promise.all(
    sockets.map(async (socket) => {
      while (Date.now() < until) {
        await runOnce(socket, agent, { steps: 1, intervalMs: 0 });
        runs++;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  for (const s of sockets) s.disconnect();
  return { runs, runsPerSecond: Math.round(runs / seconds) };
}

async function longRun(url, agent) {
  const socket = await connect(url, `long-${agent}`);
  const started = Date.now();
  const events = await runOnce(socket, agent, { steps: 2000, intervalMs: 0 });
  const ms = Date.now() - started;
  socket.disconnect();
  return { events: events.length, ms, eventsPerSecond: Math.round((events.length / ms) * 1000) };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-durable-'));
  const { child, url } = await startServer(dir);
  const results = {};
  try {
    for (const agent of AGENTS) {
      results[agent] = { latency: await latency(url, agent), throughput: await throughput(url, agent), longRun: await longRun(url, agent) };
      console.log(agent, JSON.stringify(results[agent]));
    }
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ seconds: SECONDS, users: USERS, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
