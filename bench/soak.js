'use strict';
/**
 * `npm run soak [-- options]`: the built server (dist/main.js) at its default settings (only
 * JWT_SECRET and a SQLite file set, rate limit off) under sustained saturation plus clients that
 * stop reading, for a given time, sampling the server's RSS. It answers guarantee 7 (bounded
 * memory): does RSS level off, does any run fail, is every stalled client dropped long before
 * Engine.IO's ping timeout (25 s interval + 20 s timeout) would have noticed it.
 *
 * Load: `--users` users (one socket each) run `echo` back to back with a `--text-bytes` text
 * (bench/load.js checks every run: seq 1..n, one terminal event, last). Every `--stall-every-s`
 * seconds `--stalled` new users stop reading their socket while they keep starting runs whose events
 * are large (see stallOne).
 *
 * Options (`--name=value`): --minutes (10), --users (50), --text-bytes (2048), --stalled (5),
 * --stall-every-s (60), --sample-s (5), --app-dir (dist), --app-env=K=V,… (extra server settings,
 * e.g. SOCKET_RECOVERY_MS=120000 to compare), --out (bench/results/soak.json). Output: a summary on
 * stdout and the JSON file.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { io } = require('socket.io-client');
const jwt = require('jsonwebtoken');
const { BENCH_DIR, ROOT, cleanEnv, ipcClient, median, sleep, spawnNode, tail } = require('./common');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const cfg = {
  minutes: Number(opt('minutes', 10)),
  users: Number(opt('users', 50)),
  textBytes: Number(opt('text-bytes', 2048)),
  stalled: Number(opt('stalled', 5)),
  stallEveryS: Number(opt('stall-every-s', 60)),
  sampleS: Number(opt('sample-s', 5)),
  appDir: path.resolve(opt('app-dir', path.join(ROOT, 'dist'))),
  appEnv: Object.fromEntries(
    opt('app-env', '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  ),
  out: path.resolve(opt('out', path.join(BENCH_DIR, 'results', 'soak.json'))),
};
const SECRET = randomBytes(24).toString('hex');
/** Engine.IO's defaults: a client that stops answering is dropped after pingInterval + pingTimeout. */
const PING_TIMEOUT_MS = 25_000 + 20_000;
const MB = 1024 * 1024;
const log = (...args) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...args);

function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

async function metric(url, name, labels = '') {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function startServer() {
  const main = path.join(cfg.appDir, 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} does not exist: run 'npm run build' first (npm run soak does).`);
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-pipeline-soak-'));
  const env = cleanEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    DATABASE_URL: `sqlite:${path.join(dbDir, 'runs.db')}`,
    RATE_LIMIT_RUNS_PER_MINUTE: '0',
    ...cfg.appEnv,
  });
  const child = spawnNode([main], { env });
  let stdout = [];
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${stdout.join('\n')}`)), 60_000);
    stdout = tail(child.stdout, 200, (line) => {
      const m = /Listening on (http:\/\/[\w.-]+:\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    });
    const stderr = tail(child.stderr, 200);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${stdout.join('\n')}\n${stderr.join('\n')}`)));
  });
  return { child, url, dbDir };
}

/**
 * One user who stops reading its socket but keeps asking for work, as a client bent on filling the
 * server's memory would: a long `countdown`, then an `echo` of a ~60 KB text every 50 ms (each
 * run sends the text back three times: input, delta, result), its answers never read. Resolves
 * once its TCP socket is paused.
 */
async function stallOne(url, userId) {
  const token = jwt.sign({ sub: userId }, SECRET, { algorithm: 'HS256', expiresIn: 3600 });
  const socket = io(`${url}/agents`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const ack = await socket.timeout(10_000).emitWithAck('run:start', { agent: 'countdown', input: { steps: 10_000, intervalMs: 0 } });
  if (!ack.ok) throw new Error(`stalled ${userId}: run:start refused: ${JSON.stringify(ack.error)}`);
  socket.io.engine.transport.ws._socket.pause();
  const echo = { agent: 'echo', input: { text: 'y'.repeat(60_000) } };
  const more = setInterval(() => socket.connected && socket.emit('run:start', echo, () => undefined), 50);
  socket.on('disconnect', () => clearInterval(more));
  return { socket, stop: () => (clearInterval(more), socket.disconnect()) };
}

async function main() {
  log(
    `${cfg.minutes} min${Object.keys(cfg.appEnv).length ? ` (${JSON.stringify(cfg.appEnv)})` : ''}: ${cfg.users} users of ${cfg.textBytes}-byte echo back to back + ${cfg.stalled} stalled clients every ${cfg.stallEveryS} s (load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
  );
  const server = await startServer();
  const load = spawnNode([path.join(BENCH_DIR, 'load.js')], { env: cleanEnv({}), serialization: 'advanced' });
  const loadRpc = ipcClient(load, 'load');
  tail(load.stdout, 10);
  const loadErr = tail(load.stderr, 40);
  const samples = [];
  const stalls = [];
  let stalledUsers = 0;
  const openStalled = [];
  const t0 = Date.now();
  try {
    await loadRpc(
      'connect',
      { url: server.url, secret: SECRET, users: Array.from({ length: cfg.users }, (_, i) => ({ userId: `soak-${i}`, sockets: 1 })) },
      120_000,
    );
    const text = 'x'.repeat(cfg.textBytes);
    const durationMs = cfg.minutes * 60_000;
    const loadDone = loadRpc(
      'run',
      { inFlight: 1, plan: [{ agent: 'echo', input: { text } }], durationMs, maxSamples: 200_000 },
      durationMs + 10 * 60_000,
    );

    const sampler = setInterval(() => {
      try {
        samples.push({ s: (Date.now() - t0) / 1000, rssMB: rssOf(server.child.pid) / MB });
      } catch {
        /* the server is gone: the run reply says why */
      }
    }, cfg.sampleS * 1000);
    // Stalled clients: a batch now and then, each timed from its pause until the server dropped it.
    const stallBatches = (async () => {
      for (let next = 5_000; next < durationMs - 50_000; next += cfg.stallEveryS * 1000) {
        await sleep(Math.max(0, t0 + next - Date.now()));
        const before = await metric(server.url, 'agent_pipeline_socket_disconnects_total', '{reason="slow_consumer"}');
        const sockets = await Promise.all(Array.from({ length: cfg.stalled }, () => stallOne(server.url, `stalled-${stalledUsers++}`)));
        openStalled.push(...sockets);
        const pausedAt = Date.now();
        let dropped = before;
        while (dropped < before + cfg.stalled && Date.now() - pausedAt < PING_TIMEOUT_MS + 15_000) {
          await sleep(100);
          dropped = await metric(server.url, 'agent_pipeline_socket_disconnects_total', '{reason="slow_consumer"}');
        }
        const batch = {
          atS: (pausedAt - t0) / 1000,
          clients: cfg.stalled,
          dropped: dropped - before,
          allDroppedAfterMs: dropped >= before + cfg.stalled ? Date.now() - pausedAt : null,
        };
        stalls.push(batch);
        log(
          `stalled batch at ${batch.atS.toFixed(0)} s: ${batch.dropped}/${batch.clients} dropped${batch.allDroppedAfterMs !== null ? ` within ${batch.allDroppedAfterMs} ms` : ' (not all!)'}; RSS ${(rssOf(server.child.pid) / MB).toFixed(0)} MB`,
        );
        for (const s of sockets) s.stop();
      }
    })();

    const result = await loadDone;
    await stallBatches;
    clearInterval(sampler);
    samples.push({ s: (Date.now() - t0) / 1000, rssMB: rssOf(server.child.pid) / MB });
    const summary = summarize(result, samples, stalls);
    fs.mkdirSync(path.dirname(cfg.out), { recursive: true });
    fs.writeFileSync(
      cfg.out,
      JSON.stringify({ date: new Date().toISOString(), cfg: { ...cfg, appDir: undefined }, summary, samples, stalls }, null, 2),
    );
    print(summary, samples);
    if (summary.failedRuns > 0 || summary.stalledNotDropped > 0) process.exitCode = 1;
  } catch (err) {
    log(`failed: ${err.stack || err}\nload stderr:\n${loadErr.join('\n')}`);
    process.exitCode = 1;
  } finally {
    for (const s of openStalled) s.stop();
    load.kill('SIGTERM');
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    fs.rmSync(server.dbDir, { recursive: true, force: true });
  }
}

function summarize(r, samples, stalls) {
  const failed =
    r.seqErrors +
    r.stuck +
    Object.values(r.ackErrors).reduce((a, b) => a + b, 0) +
    Object.values(r.terminalErrors).reduce((a, b) => a + b, 0);
  const end = samples[samples.length - 1].s;
  const window = (from, to) => samples.filter((x) => x.s >= from && x.s < to).map((x) => x.rssMB);
  const last = window(end - 120, end + 1);
  const before = window(end - 240, end - 120);
  const drops = stalls.filter((b) => b.allDroppedAfterMs !== null).map((b) => b.allDroppedAfterMs);
  return {
    runs: r.completed,
    runsPerSec: r.completed / (r.elapsedMs / 1000),
    failedRuns: failed,
    ackErrors: r.ackErrors,
    terminalErrors: r.terminalErrors,
    seqErrors: r.seqErrors,
    rssMaxMB: Math.max(...samples.map((x) => x.rssMB)),
    rssMedianLast2MinMB: median(last),
    rssMedianPrevious2MinMB: median(before),
    stalledClients: stalls.reduce((n, b) => n + b.clients, 0),
    stalledNotDropped: stalls.reduce((n, b) => n + (b.clients - b.dropped), 0),
    stalledDropMedianMs: median(drops),
    stalledDropMaxMs: drops.length ? Math.max(...drops) : null,
    pingTimeoutMs: PING_TIMEOUT_MS,
  };
}

function print(s, samples) {
  const perMinute = samples.filter(
    (x, i) => i === samples.length - 1 || Math.floor(x.s / 60) !== Math.floor((samples[i + 1]?.s ?? 0) / 60),
  );
  console.log('\n| minute | server RSS (MB) |\n|---|---|');
  for (const x of perMinute) console.log(`| ${(x.s / 60).toFixed(1)} | ${x.rssMB.toFixed(0)} |`);
  console.log(`
runs completed: ${s.runs} (${s.runsPerSec.toFixed(0)}/s), failed: ${s.failedRuns} (acks ${JSON.stringify(s.ackErrors)}, terminals ${JSON.stringify(s.terminalErrors)}, seq errors ${s.seqErrors})
RSS: max ${s.rssMaxMB.toFixed(0)} MB; median of the last 2 min ${s.rssMedianLast2MinMB?.toFixed(0)} MB, of the 2 min before ${s.rssMedianPrevious2MinMB?.toFixed(0)} MB
stalled clients: ${s.stalledClients}, not dropped ${s.stalledNotDropped}; each batch dropped within median ${s.stalledDropMedianMs} ms, max ${s.stalledDropMaxMs} ms (Engine.IO ping timeout ${s.pingTimeoutMs} ms)`);
}

main();
