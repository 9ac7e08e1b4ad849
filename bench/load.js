'use strict';
/**
 * A load process: real socket.io-client sockets over loopback (websocket transport, one connection
 * per socket), driven by `run-bench.js` over IPC (`{ type: 'load', id, cmd, ... }`):
 *
 * - `connect { url, secret, users: [{ userId, sockets }], concurrency }` opens and authenticates the
 *   sockets (each user's sockets all join that user's room on the server).
 * - `run { starters, inFlight, plan, durationMs, maxRuns, ratePerSec, drainMs }`: every starter
 *   socket keeps `inFlight` runs going back to back (start → wait for the terminal event → next),
 *   cycling through `plan` (`[{ agent, input }]`), until `durationMs` has passed or `maxRuns` were
 *   started; then it waits for the runs in flight. With `ratePerSec`, runs are instead started at
 *   that fixed rate (open loop, round robin over the starters, at most `inFlight` each), so latency
 *   is measured below saturation rather than as queueing. Replies with counts and raw latencies:
 *   run latency = `run:start` emitted → terminal event received on the starting socket
 *   (performance.now(), µs resolution); delivery latency = receive time − envelope `ts` (both from
 *   Date.now() on the same machine; `ts` has ms resolution), recorded on every socket.
 *   Every run is checked: seq 1..n without gap, exactly one terminal event, last.
 * - `stats` (this process's CPU), `disconnect`.
 */
const { performance } = require('node:perf_hooks');
const { io } = require('socket.io-client');
const jwt = require('jsonwebtoken');
const { TERMINAL } = require('./common');

/** @type {{ socket: import('socket.io-client').Socket, userId: string }[]} */
let sockets = [];
let current = null; // the run command in progress

function onEvent(idx, type, env) {
  const c = current;
  if (!c || !env || typeof env !== 'object') return;
  const now = Date.now();
  c.deliveries++;
  const ts = Date.parse(env.ts);
  if (c.deliveryLat.length < c.maxSamples) c.deliveryLat.push(now - ts);
  if (!c.isStarter[idx]) return;
  const run = c.active.get(env.runId);
  if (!run) {
    // Ack not seen yet (or another starter's run of the same user): keep it until the ack arrives.
    let early = c.early.get(env.runId);
    if (!early) c.early.set(env.runId, (early = []));
    early.push([idx, type, env]);
    return;
  }
  if (run.idx !== idx) return;
  track(c, run, env.runId, type, env);
}

function track(c, run, runId, type, env) {
  if (run.done) {
    c.seqErrors++; // an event after the terminal one
    return;
  }
  c.events++;
  if (env.seq !== run.seq + 1) c.seqErrors++;
  run.seq = env.seq;
  if (TERMINAL.has(type)) {
    run.done = true;
    c.active.delete(runId);
    const t = performance.now();
    c.completed++;
    c.lastEnd = t;
    if (type !== 'agent_completed') c.terminalErrors[type] = (c.terminalErrors[type] || 0) + 1;
    if (c.runLat.length < c.maxSamples) c.runLat.push(t - run.t0);
    run.driver.inFlight--;
    startNext(c, run.driver);
  }
}

function startOne(c, driver) {
  const spec = c.plan[driver.k++ % c.plan.length];
  driver.inFlight++;
  c.started++;
  const t0 = performance.now();
  if (c.firstStart === undefined) c.firstStart = t0;
  const idx = driver.idx;
  sockets[idx].socket.timeout(30_000).emit('run:start', spec, (err, ack) => {
    if (err || !ack || !ack.ok) {
      const code = err ? 'ACK_TIMEOUT' : (ack?.error?.code ?? 'BAD_ACK');
      c.ackErrors[code] = (c.ackErrors[code] || 0) + 1;
      driver.inFlight--;
      if (!c.paced) setTimeout(() => startNext(c, driver), 5);
      maybeFinish(c);
      return;
    }
    const run = { t0, idx, seq: 0, done: false, driver };
    c.active.set(ack.runId, run);
    const early = c.early.get(ack.runId);
    if (early) {
      c.early.delete(ack.runId);
      for (const [eIdx, type, env] of early) if (eIdx === idx) track(c, run, ack.runId, type, env);
    }
  });
}

/** Back to back: the driver starts runs until it has `inFlight` going (paced runs are started by the pacer). */
function startNext(c, driver) {
  while (!c.paced && driver.inFlight < c.inFlight && !c.stopping) {
    if (performance.now() >= c.deadline || c.started >= c.maxRuns) {
      c.stopping = true;
      break;
    }
    startOne(c, driver);
  }
  maybeFinish(c);
}

/**
 * Paced: `ratePerSec` starts per second, spread over the drivers round robin; a start that finds
 * every driver busy (`inFlight` runs going) is counted as skipped, i.e. the server is saturated.
 */
function pace(c, t0) {
  const now = performance.now();
  if (now >= c.deadline || c.started + c.skipped >= c.maxRuns) {
    c.stopping = true;
    return;
  }
  const due = Math.floor(((now - t0) / 1000) * c.rate) - c.started - c.skipped;
  for (let i = 0; i < due; i++) {
    let driver;
    for (let k = 0; k < c.drivers.length; k++) {
      const d = c.drivers[(c.rr + k) % c.drivers.length];
      if (d.inFlight < c.inFlight) {
        driver = d;
        c.rr = (c.rr + k + 1) % c.drivers.length;
        break;
      }
    }
    if (driver) startOne(c, driver);
    else c.skipped++;
  }
}

function maybeFinish(c) {
  if (!c.stopping || c.finished) return;
  if (c.drivers.some((d) => d.inFlight > 0)) return;
  c.finish();
}

function runCommand(msg) {
  return new Promise((resolve) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const maxSamples = msg.maxSamples ?? 2_000_000;
    const c = {
      plan: msg.plan,
      inFlight: msg.inFlight ?? 1,
      paced: msg.ratePerSec > 0,
      rate: msg.ratePerSec ?? 0,
      rr: 0,
      skipped: 0,
      deadline: msg.durationMs ? t0 + msg.durationMs : Infinity,
      maxRuns: msg.maxRuns ?? Infinity,
      maxSamples,
      isStarter: new Array(sockets.length).fill(false),
      active: new Map(),
      early: new Map(),
      drivers: [],
      started: 0,
      completed: 0,
      events: 0,
      deliveries: 0,
      seqErrors: 0,
      ackErrors: {},
      terminalErrors: {},
      runLat: [],
      deliveryLat: [],
      stopping: false,
      finished: false,
      firstStart: undefined,
      lastEnd: undefined,
      finish: null,
    };
    const starters = msg.starters ?? sockets.map((_, i) => i);
    for (const idx of starters) {
      c.isStarter[idx] = true;
      c.drivers.push({ idx, k: idx, inFlight: 0 });
    }
    // The clock is re-checked between runs and here; after the deadline the runs in flight get
    // drainMs at most, so a run that never ends cannot hang the bench (it is reported as stuck).
    const drainMs = msg.drainMs ?? 30_000;
    let drainDeadline;
    const pacer = c.paced ? setInterval(() => pace(c, t0), 2) : undefined;
    const ticker = setInterval(() => {
      const now = performance.now();
      if (now >= c.deadline) c.stopping = true;
      if (c.stopping && drainDeadline === undefined) drainDeadline = now + drainMs;
      if (drainDeadline !== undefined && now >= drainDeadline) c.finish();
      else maybeFinish(c);
    }, 50);
    c.finish = () => {
      if (c.finished) return;
      c.finished = true;
      clearInterval(ticker);
      clearInterval(pacer);
      current = null;
      const cpu = process.cpuUsage(cpu0);
      const elapsed = (c.lastEnd ?? performance.now()) - (c.firstStart ?? t0);
      resolve({
        started: c.started,
        completed: c.completed,
        events: c.events,
        deliveries: c.deliveries,
        seqErrors: c.seqErrors,
        skipped: c.skipped,
        stuck: c.drivers.reduce((n, d) => n + d.inFlight, 0),
        ackErrors: c.ackErrors,
        terminalErrors: c.terminalErrors,
        elapsedMs: elapsed,
        wallMs: performance.now() - t0,
        clientCpuUs: cpu.user + cpu.system,
        runLat: Float64Array.from(c.runLat),
        deliveryLat: Float64Array.from(c.deliveryLat),
      });
    };
    current = c;
    if (c.paced) pace(c, t0);
    else for (const d of c.drivers) startNext(c, d);
  });
}

function connectOne(url, token, idx) {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/agents`, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true, // one connection per socket, as separate tabs/devices would have
      reconnection: false,
      timeout: 30_000,
    });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('connect timeout'));
    }, 35_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.onAny((type, env) => onEvent(idx, type, env));
      socket.on('disconnect', (reason) => {
        if (reason !== 'io client disconnect') disconnects++;
      });
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
}

let disconnects = 0;

async function connectCommand(msg) {
  const t0 = performance.now();
  const list = [];
  for (const u of msg.users) for (let i = 0; i < (u.sockets ?? 1); i++) list.push(u.userId);
  const tokens = new Map();
  const tokenOf = (userId) => {
    let t = tokens.get(userId);
    if (!t) tokens.set(userId, (t = jwt.sign({ sub: userId }, msg.secret, { algorithm: 'HS256', expiresIn: 3600 })));
    return t;
  };
  const base = sockets.length;
  const slots = new Array(list.length);
  let next = 0;
  let failed = 0;
  const errors = {};
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      try {
        slots[i] = { socket: await connectOne(msg.url, tokenOf(list[i]), base + i), userId: list[i] };
      } catch (err) {
        failed++;
        errors[err.message] = (errors[err.message] || 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(msg.concurrency ?? 50, list.length) }, worker));
  // Keep indexes stable: failed slots stay as dead entries that never start runs.
  for (let i = 0; i < slots.length; i++) sockets.push(slots[i] ?? { socket: null, userId: list[i] });
  return { connected: list.length - failed, failed, errors, ms: performance.now() - t0, total: sockets.length };
}

process.on('message', (msg) => {
  if (!msg || msg.type !== 'load') return;
  const reply = (body) => process.send({ type: 'load-reply', id: msg.id, ...body });
  (async () => {
    switch (msg.cmd) {
      case 'connect':
        return reply(await connectCommand(msg));
      case 'run': {
        if (sockets.some((s, i) => !s.socket && (msg.starters ?? []).includes(i))) throw new Error('a starter socket is not connected');
        return reply(await runCommand(msg));
      }
      case 'stats':
        return reply({ cpu: process.cpuUsage(), mem: process.memoryUsage(), disconnects });
      case 'disconnect': {
        for (const s of sockets) s.socket?.disconnect();
        sockets = [];
        return reply({ disconnects });
      }
      default:
        throw new Error(`unknown load command ${msg.cmd}`);
    }
  })().catch((err) => reply({ error: err.stack || err.message }));
});

process.on('disconnect', () => process.exit(0));
