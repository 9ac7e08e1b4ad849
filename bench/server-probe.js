'use strict';
/**
 * Bench-only preload: `node --expose-gc -r ./bench/server-probe.js <server>`.
 *
 * Lets the benchmark read a server's own CPU time and memory over the IPC channel the bench opens
 * when it spawns the server, without adding a route to the app. Works for the app and the baseline.
 *
 * On start it reports `{ type: 'bench-probe-listening', port }` when the server starts listening.
 * Requests (`{ type: 'bench-probe', id, cmd, ...}`) and their replies (`{ type: 'bench-probe-reply', id, ... }`):
 * - `stats`: `process.cpuUsage()`, `process.memoryUsage()`, Socket.IO namespace counters.
 * - `gc`: full GC (twice, with a turn of the event loop between), then the same as `stats`.
 * - `heap-snapshot { file }`: full GC, then `v8.writeHeapSnapshot(file)` (for investigations).
 * - `expire-recovery`: runs the in-memory adapter's own connection-state-recovery sweep now
 *   (it runs on a fixed 60-s timer) with `olderThanMs` as the window: packets emitted longer ago
 *   than that are dropped, exactly as the adapter's timer would drop them once the window passed.
 *
 * - `stats` also carries `store`: batches, runs, events, CPU µs and wall µs the app's SQLite writer
 *   spent, and the runs whose row was written in the batch of their terminal event (inserted
 *   finished, written once) (null for the baseline). The probe wraps `SqliteBatchWriter.prototype.write` of the
 *   app it preloads (found next to the server's main file), so the store's own cost is measured
 *   inside the server, per run, instead of being estimated from a profile.
 *
 * Socket.IO namespaces are found by wrapping `Namespace.prototype._initAdapter` (called once per
 * namespace at creation) in every copy of socket.io the server can load (Nest's platform package
 * carries its own); nothing on the per-event path is touched.
 */
const namespaces = new Set();

// Every copy of socket.io the server may load: the project's own, and the one
// @nestjs/platform-socket.io may carry in its own node_modules. socket.io's `exports` hide
// dist/namespace, so it is required by file name next to each copy's main file.
const path = require('node:path');
const bases = [process.cwd(), __dirname];
const mains = new Set();
for (const from of [bases, null]) {
  try {
    const paths = from ?? [path.dirname(require.resolve('@nestjs/platform-socket.io', { paths: bases }))];
    mains.add(require.resolve('socket.io', { paths }));
  } catch {
    /* not installed there */
  }
}
for (const main of mains) {
  try {
    const { Namespace } = require(path.join(path.dirname(main), 'namespace.js'));
    const init = Namespace.prototype._initAdapter;
    if (init.benchProbe) continue;
    const wrapped = function benchProbeInitAdapter(...args) {
      namespaces.add(this);
      return init.apply(this, args);
    };
    wrapped.benchProbe = true;
    Namespace.prototype._initAdapter = wrapped;
  } catch (err) {
    process.stderr.write(`[bench-probe] ${main} not hooked: ${err.message}\n`);
  }
}
if (mains.size === 0) process.stderr.write('[bench-probe] socket.io not found: no namespace counters\n');

// The app's SQLite writer, when the server is the app: time every batch it writes.
let store = null;
try {
  const main = process.argv[1] ? path.resolve(process.argv[1]) : '';
  // The pipeline is the package the app loads (packages/nestjs/dist); builds from before the
  // packages kept it in the app's own pipeline/ folder.
  const fs = require('node:fs');
  const pipelineDist = require('./common').pipelineDistOf(path.dirname(main)) ?? path.join(path.dirname(main), 'pipeline');
  const file = path.join(pipelineDist, 'store', 'sqlite-batch.writer.js');
  const isApp = fs.existsSync(path.join(path.dirname(main), 'app.module.js'));
  if (isApp && fs.existsSync(file)) {
    const { SqliteBatchWriter } = require(file);
    const write = SqliteBatchWriter.prototype.write;
    store = { batches: 0, runs: 0, runsWrittenOnce: 0, events: 0, cpuUs: 0, wallUs: 0, maxWallUs: 0 };
    const TERMINAL = new Set(['agent_completed', 'agent_error', 'agent_cancelled']);
    // process.cpuUsage() (getrusage over every thread) cost the app 3–4 µs a run when it was read
    // around every batch, a cost the baseline does not pay: it is read around one batch in
    // CPU_SAMPLE_EVERY, and that batch's CPU counts for as many (an unbiased estimate).
    const CPU_SAMPLE_EVERY = 8;
    SqliteBatchWriter.prototype.write = function benchProbeWrite(batch) {
      const cpu0 = store.batches % CPU_SAMPLE_EVERY === 0 ? process.cpuUsage() : undefined;
      const t0 = process.hrtime.bigint();
      try {
        return write.call(this, batch);
      } finally {
        const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
        const cpu = cpu0 && process.cpuUsage(cpu0);
        store.batches++;
        store.runs += batch.runs.length;
        // Runs whose row is inserted in the batch of their terminal event: written once, finished
        // (the others are inserted running and updated by a later batch). Counted after the timing.
        if (batch.runs.length > 0) {
          const ended = new Set();
          for (const e of batch.events) if (TERMINAL.has(e.type)) ended.add(e.runId);
          for (const r of batch.runs) if (ended.has(r.runId)) store.runsWrittenOnce++;
        }
        store.events += batch.events.length;
        if (cpu) store.cpuUs += (cpu.user + cpu.system) * CPU_SAMPLE_EVERY;
        store.wallUs += wallUs;
        if (wallUs > store.maxWallUs) store.maxWallUs = wallUs;
      }
    };
  }
} catch (err) {
  process.stderr.write(`[bench-probe] store writer not hooked: ${err.message}\n`);
}

function socketStats() {
  const out = [];
  for (const nsp of namespaces) {
    const adapter = nsp.adapter;
    out.push({
      name: nsp.name,
      sockets: nsp.sockets.size,
      rooms: adapter && adapter.rooms ? adapter.rooms.size : 0,
      recoveryPackets: adapter && Array.isArray(adapter.packets) ? adapter.packets.length : null,
      recoverySessions: adapter && adapter.sessions ? adapter.sessions.size : null,
    });
  }
  return out;
}

function stats() {
  return {
    cpu: process.cpuUsage(),
    mem: process.memoryUsage(),
    uptimeMs: process.uptime() * 1000,
    // CLOCK_MONOTONIC µs, the clock of --cpu-prof samples: lets a profile be cut to a window.
    hrtimeUs: Number(process.hrtime.bigint() / 1000n),
    nsp: socketStats(),
    store: store && { ...store },
  };
}

async function fullGc() {
  if (typeof global.gc !== 'function') return false;
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  global.gc();
  return true;
}

function expireRecovery(olderThanMs) {
  let dropped = 0;
  const threshold = Date.now() - olderThanMs;
  for (const nsp of namespaces) {
    const adapter = nsp.adapter;
    if (!adapter || !Array.isArray(adapter.packets)) continue;
    // Same rule as SessionAwareAdapter's interval: drop everything up to the newest expired packet.
    for (let i = adapter.packets.length - 1; i >= 0; i--) {
      if (adapter.packets[i].emittedAt < threshold) {
        dropped += i + 1;
        adapter.packets.splice(0, i + 1);
        break;
      }
    }
    if (adapter.sessions) {
      for (const [id, session] of adapter.sessions) if (session.disconnectedAt < threshold) adapter.sessions.delete(id);
    }
  }
  return dropped;
}

if (typeof process.send === 'function') {
  // Tells the bench the port as soon as the server listens, whatever the server logs (LOG_LEVEL=silent too).
  const net = require('node:net');
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function benchProbeListen(...args) {
    this.once('listening', () => {
      const address = this.address();
      if (address && typeof address === 'object') {
        try {
          process.send({ type: 'bench-probe-listening', port: address.port, address: address.address });
        } catch {
          /* parent gone */
        }
      }
    });
    return listen.apply(this, args);
  };

  process.on('message', (msg) => {
    if (!msg || msg.type !== 'bench-probe') return;
    const reply = (body) => {
      try {
        process.send({ type: 'bench-probe-reply', id: msg.id, ...body });
      } catch {
        /* parent gone */
      }
    };
    (async () => {
      switch (msg.cmd) {
        case 'stats':
          return reply(stats());
        case 'gc': {
          const gced = await fullGc();
          return reply({ gced, ...stats() });
        }
        case 'heap-snapshot': {
          // For investigations (not used by run-bench): writes a .heapsnapshot next to `dir`.
          await fullGc();
          const file = require('node:v8').writeHeapSnapshot(msg.file);
          return reply({ file });
        }
        case 'expire-recovery':
          return reply({ dropped: expireRecovery(Number(msg.olderThanMs) || 0), ...stats() });
        default:
          return reply({ error: `unknown probe command ${msg.cmd}` });
      }
    })().catch((err) => reply({ error: err.message }));
  });
  // The channel must not keep a server alive that wants to exit.
  if (process.channel && typeof process.channel.unref === 'function') process.channel.unref();
}
