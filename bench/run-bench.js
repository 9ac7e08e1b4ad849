'use strict';
/**
 * `npm run bench [-- options]`: the app against a plain Socket.IO baseline (bench/baseline-server.js),
 * each server in its own process, driven by separate load processes (bench/load.js) over loopback.
 *
 * Phases (all by default; `--only=echo,paced,mixed,fanout,heap,sockets,di,store,profile` picks some):
 *   echo | paced |         the workloads; per workload both servers run side by side and the load
 *   mixed | fanout         alternates between them (B,A / A,B / …) for `reps` repetitions of
 *                          `duration` ms after a warm-up; every figure is the median of the reps.
 *                          `paced` is echo started at a fixed rate (latency below saturation).
 *   heap                   heap growth after `heapRuns` echo runs, after a forced GC in the server.
 *   sockets                RSS per 1,000 connected authenticated sockets (`sockets` of them).
 *   di                     DI microbenchmark (bench/di-micro.js).
 *   store                  what persisting a run costs: the app's run store vs prepared statements (bench/store-micro.js).
 *   profile                the app under `node --cpu-prof` during the echo workload (or --profile-workload), summarised.
 *
 * Options (CLI `--name=value` or env `BENCH_NAME`): --quick, --reps, --duration (ms), --warmup (ms),
 * --users, --paced-rate, --before-http (workloads also measured before the first HTTP request; default
 * echo; every other figure is taken after one `GET /health` to each server), --profile-workload, --heap-runs, --heap-recovery-ms, --recovery-ms (both servers, all phases), --sockets, --socket-procs, --only, --app-dir (a built app; default: the app
 * compiled into bench/.app when src/ changed), --app-env=K=V,… (extra env of the app server only),
 * --no-build, --no-profile.
 * Output: tables on stdout, bench/results/latest.json and latest.md (quick.* for --quick, partial.*
 * for --only runs),
 * profile summaries in bench/results/profile-summary.{app,baseline}.txt.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { BENCH_DIR, ROOT, median, percentiles, fileLimits, spawnNode, ipcClient, tail, sleep, cleanEnv } = require('./common');
const { WORKSPACES, compileWorkspaces } = require('../scripts/workspaces');
const { summarize, formatSummary } = require('./profile-summary');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
function opt(name, def) {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (a) return a.slice(name.length + 3);
  const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  return env !== undefined && env !== '' ? env : def;
}
const num = (name, def) => Number(opt(name, def));
const cfg = {
  quick: QUICK,
  reps: num('reps', QUICK ? 2 : 4),
  durationMs: num('duration', QUICK ? 2000 : 5000),
  warmupMs: num('warmup', QUICK ? 1000 : 2000),
  users: num('users', 50),
  /** Start rate of the paced echo workload (runs/s over all users); well below either server's capacity. */
  pacedRate: num('paced-rate', 50),
  /** The workload the `profile` phase runs under `--cpu-prof`. */
  profileWorkload: String(opt('profile-workload', 'echo')),
  heapRuns: num('heap-runs', QUICK ? 1_500 : 100_000),
  heapWarmupRuns: num('heap-warmup-runs', QUICK ? 300 : 5_000),
  /** SOCKET_RECOVERY_MS of the heap phase's servers; unset = the default (120000). */
  heapRecoveryMs: opt('heap-recovery-ms', '') === '' ? undefined : Number(opt('heap-recovery-ms', '')),
  // Both servers, every phase: compare with connection state recovery on (off is the default).
  recoveryMs: opt('recovery-ms', '') === '' ? undefined : Number(opt('recovery-ms', '')),
  sockets: num('sockets', QUICK ? 500 : 5_000),
  socketProcs: num('socket-procs', 2),
  /** Workloads measured also before the first HTTP request to the servers (then again after it). */
  beforeHttp: new Set(String(opt('before-http', 'echo')).split(',').filter(Boolean)),
  only: new Set(String(opt('only', 'echo,paced,mixed,fanout,heap,sockets,di,store,profile')).split(',').filter(Boolean)),
  build: !argv.includes('--no-build'),
  appDir: opt('app-dir', ''),
  /** Extra environment of the app server only, `K=V,K2=V2` (A/B a setting, e.g. LOG_LEVEL=silent). */
  appEnv: Object.fromEntries(
    String(opt('app-env', ''))
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1)]),
  ),
};
if (argv.includes('--no-profile') || (QUICK && !argv.some((a) => a.startsWith('--only')))) cfg.only.delete('profile');

const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const SECRET = randomBytes(24).toString('hex');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-bench-'));
const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

// ---------------------------------------------------------------- the app build
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The app to bench. By default it is compiled (tsc, tsconfig.build.json) into bench/.app, not dist/:
 * the shared dist/ is rebuilt (`rm -rf dist`) by others at any time, and a benchmark must not run
 * half a build. Rebuilt only when src/ is newer than the last build.
 */

function ensureApp() {
  if (cfg.appDir) {
    const dir = path.resolve(ROOT, cfg.appDir);
    if (!fs.existsSync(path.join(dir, 'main.js'))) throw new Error(`--app-dir ${dir} has no main.js; run npm run build first.`);
    return dir;
  }
  const dir = path.join(BENCH_DIR, '.app');
  const main = path.join(dir, 'main.js');
  const sources = Math.max(
    newestMtime(path.join(ROOT, 'src')),
    ...WORKSPACES.map((p) => newestMtime(path.join(ROOT, 'packages', p, 'src'))),
  );
  const stale = !fs.existsSync(main) || sources > fs.statSync(main).mtimeMs;
  if (stale && cfg.build) {
    // The app runs on the packages' builds (node_modules/@agent-pipeline/* → packages/*/dist).
    compileWorkspaces({ onPackage: (p) => log(`Building @agent-pipeline/${p} (tsc -p packages/${p}/tsconfig.build.json) ...`) });
    log('Building the app into bench/.app (tsc -p tsconfig.build.json) ...');
    const tmp = `${dir}.building`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', tmp, '--declaration', 'false'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
    if (r.status === 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(tmp, dir);
    } else if (fs.existsSync(main)) {
      log('WARNING: the build failed (src/ mid-edit?); benching the previous build in bench/.app.');
      fs.rmSync(tmp, { recursive: true, force: true });
    } else {
      throw new Error('The app does not build; fix src/ or pass --app-dir=dist.');
    }
  } else if (stale) {
    log('WARNING: bench/.app is older than src/ and --no-build was given.');
  }
  return dir;
}

// ---------------------------------------------------------------- processes
const children = new Set();

class ServerProc {
  /** @param {'app'|'baseline'} kind */
  static async start(kind, { appDir, recoveryMs = cfg.recoveryMs, nodeArgs = [], label = kind } = {}) {
    const dbDir = fs.mkdtempSync(path.join(tmpRoot, `${kind}-`));
    const env = cleanEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      DATABASE_URL: `sqlite:${path.join(dbDir, 'runs.db')}`,
      RATE_LIMIT_RUNS_PER_MINUTE: '0',
      MAX_CONCURRENT_RUNS_PER_USER: '16',
      ...(recoveryMs !== undefined ? { SOCKET_RECOVERY_MS: String(recoveryMs) } : {}),
      ...(kind === 'app' ? cfg.appEnv : {}),
    });
    const script = kind === 'app' ? path.join(appDir, 'main.js') : path.join(BENCH_DIR, 'baseline-server.js');
    const child = spawnNode(['--expose-gc', ...nodeArgs, '-r', path.join(BENCH_DIR, 'server-probe.js'), script], { env });
    children.add(child);
    const s = new ServerProc();
    s.kind = kind;
    s.label = label;
    s.child = child;
    s.probeRpc = ipcClient(child, 'bench-probe');
    s.exited = new Promise((resolve) => child.once('exit', (code, signal) => (children.delete(child), resolve({ code, signal }))));
    s.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${label} did not start in 60 s:\n${s.out.join('\n')}\n${s.err.join('\n')}`)),
        60_000,
      );
      // The probe reports the port when the server listens; the log line is the fallback.
      child.on('message', (msg) => {
        if (msg && msg.type === 'bench-probe-listening') {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${msg.port}`);
        }
      });
      const onLine = (line) => {
        const m = line.match(/Listening on (http:\/\/[\w.-]+:\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].replace('localhost', '127.0.0.1'));
        }
      };
      s.out = tail(child.stdout, 40, onLine);
      s.err = tail(child.stderr, 40);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited (${code}) before listening:\n${s.out.join('\n')}\n${s.err.join('\n')}`));
      });
    });
    return s;
  }

  probe(cmd, body) {
    return this.probeRpc(cmd, body, 120_000);
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

class LoadProc {
  static start() {
    const child = spawnNode([path.join(BENCH_DIR, 'load.js')], { env: cleanEnv({}), serialization: 'advanced' });
    children.add(child);
    child.once('exit', () => children.delete(child));
    const l = new LoadProc();
    l.child = child;
    l.rpc = ipcClient(child, 'load');
    l.err = tail(child.stderr, 40);
    tail(child.stdout, 10);
    return l;
  }
  connect(url, users, concurrency = 50) {
    return this.rpc('connect', { url, secret: SECRET, users, concurrency }, 300_000);
  }
  run(body) {
    return this.rpc('run', body, (body.durationMs ?? 0) + 30 * 60_000);
  }
  async close() {
    try {
      await this.rpc('disconnect', {}, 30_000);
    } catch {
      /* already gone */
    }
    this.child.kill('SIGTERM');
  }
}

const cpuUs = (s) => s.cpu.user + s.cpu.system;
const MB = 1024 * 1024;

// ---------------------------------------------------------------- workloads
const ECHO = { agent: 'echo', input: { text: 'hello from the benchmark' } };
const WORKLOADS = {
  echo: {
    title: `echo, ${cfg.users} users back to back (1 run in flight each)`,
    users: () => Array.from({ length: cfg.users }, (_, i) => ({ userId: `echo-${i}`, sockets: 1 })),
    run: { inFlight: 1, plan: [ECHO] },
  },
  paced: {
    title: `echo paced at ${cfg.pacedRate} runs/s over ${cfg.users} users (open loop: latency below saturation)`,
    users: () => Array.from({ length: cfg.users }, (_, i) => ({ userId: `paced-${i}`, sockets: 1 })),
    run: { inFlight: 1, plan: [ECHO], ratePerSec: cfg.pacedRate },
  },
  mixed: {
    title: `mixed, ${cfg.users} users: countdown (5 steps, intervalMs 0) and calculator, alternating`,
    users: () => Array.from({ length: cfg.users }, (_, i) => ({ userId: `mixed-${i}`, sockets: 1 })),
    run: {
      inFlight: 1,
      plan: [
        { agent: 'countdown', input: { steps: 5, intervalMs: 0 } },
        { agent: 'calculator', input: { expression: '(1 + 2) × 3.5 − 4 ÷ 2' } },
      ],
    },
  },
  fanout: {
    title: 'fan-out, 1 user with 10 sockets; one socket keeps 4 echo runs in flight, all 10 receive',
    users: () => [{ userId: 'fanout-0', sockets: 10 }],
    run: { inFlight: 4, plan: [ECHO], starters: [0] },
  },
};

function repMetrics(r, s0, s1) {
  const sec = r.elapsedMs / 1000;
  const [runP50, runP99] = percentiles(r.runLat);
  const [delP50, delP99] = percentiles(r.deliveryLat);
  const serverCpu = cpuUs(s1) - cpuUs(s0);
  const wallUs = (s1.uptimeMs - s0.uptimeMs) * 1000;
  // The app's SQLite writer, timed inside the server by the probe (null for the baseline).
  const store = s0.store && s1.store ? Object.fromEntries(Object.keys(s1.store).map((k) => [k, s1.store[k] - s0.store[k]])) : null;
  return {
    runs: r.completed,
    runsPerSec: r.completed / sec,
    eventsPerSec: r.events / sec,
    deliveriesPerSec: r.deliveries / sec,
    runLatP50: runP50,
    runLatP99: runP99,
    deliveryLatP50: delP50,
    deliveryLatP99: delP99,
    serverCpuUsPerRun: serverCpu / r.completed,
    storeCpuUsPerRun: store ? store.cpuUs / r.completed : null,
    storeWallUsPerRun: store ? store.wallUs / r.completed : null,
    storeRunsPerBatch: store && store.batches > 0 ? store.runs / store.batches : null,
    storeRunsWrittenOncePct: store && store.runs > 0 ? (100 * (store.runsWrittenOnce ?? 0)) / store.runs : null,
    serverCpuPct: (100 * serverCpu) / wallUs,
    loadCpuPct: (100 * r.clientCpuUs) / (r.wallMs * 1000),
    serverRssMB: s1.mem.rss / MB,
    skippedStarts: r.skipped ?? 0,
    errors:
      r.seqErrors +
      r.stuck +
      Object.values(r.ackErrors).reduce((a, b) => a + b, 0) +
      Object.values(r.terminalErrors).reduce((a, b) => a + b, 0),
    detail: {
      seqErrors: r.seqErrors,
      skipped: r.skipped,
      stuck: r.stuck,
      ackErrors: r.ackErrors,
      terminalErrors: r.terminalErrors,
      started: r.started,
    },
  };
}

const METRICS = [
  ['runsPerSec', 'runs/s', 1, 'higher'],
  ['eventsPerSec', 'events/s (starting socket)', 0, 'higher'],
  ['deliveriesPerSec', 'deliveries/s (all sockets)', 0, 'higher'],
  ['runLatP50', 'run latency p50 (ms)', 2, 'lower'],
  ['runLatP99', 'run latency p99 (ms)', 2, 'lower'],
  ['deliveryLatP50', 'event delivery p50 (ms)', 0, 'lower'],
  ['deliveryLatP99', 'event delivery p99 (ms)', 0, 'lower'],
  ['serverCpuUsPerRun', 'server CPU µs/run', 0, 'lower'],
  ['storeCpuUsPerRun', '  of which the SQLite writer (CPU µs/run)', 0, 'lower'],
  ['storeWallUsPerRun', 'SQLite writer, event loop held (µs/run)', 0, 'lower'],
  ['storeRunsPerBatch', 'runs per store transaction', 1, 'higher'],
  ['storeRunsWrittenOncePct', 'runs stored once (row inserted finished), %', 0, 'higher'],
  ['serverCpuPct', 'server CPU % of a core', 0, 'lower'],
  ['loadCpuPct', 'load process CPU % of a core', 0, 'lower'],
  ['serverRssMB', 'server RSS (MB)', 0, 'lower'],
  ['skippedStarts', 'paced starts skipped (server saturated)', 0, 'lower'],
  ['errors', 'errors (seq/ack/stuck/non-completed)', 0, 'lower'],
];

/**
 * One HTTP request (`GET /health`, as a production health check makes) to a server. Some costs
 * only start with the first HTTP request and last for the process's life (e.g. a middleware that
 * turns on async-context tracking), so every figure but the "before HTTP" ones is taken after it.
 */
async function httpCheck(server) {
  const res = await fetch(`${server.url}/health`);
  await res.text();
  if (res.status !== 200) throw new Error(`${server.label}: GET /health answered ${res.status}`);
  server.httpChecked = true;
}

/** Runs one workload on both servers, alternated, and returns the medians and the raw repetitions. */
async function measureWorkload(name, servers, when) {
  const w = WORKLOADS[name];
  log(`Workload ${name} (${when} an HTTP request): ${w.title}`);
  const loads = { baseline: LoadProc.start(), app: LoadProc.start() };
  try {
    for (const side of ['baseline', 'app']) {
      const c = await loads[side].connect(servers[side].url, w.users());
      if (c.failed) throw new Error(`${side}: ${c.failed} sockets failed to connect: ${JSON.stringify(c.errors)}`);
      await loads[side].run({ ...w.run, durationMs: cfg.warmupMs });
    }
    const reps = { baseline: [], app: [] };
    for (let rep = 0; rep < cfg.reps; rep++) {
      const order = rep % 2 === 0 ? ['baseline', 'app'] : ['app', 'baseline'];
      for (const side of order) {
        await sleep(300);
        const s0 = await servers[side].probe('stats');
        const r = await loads[side].run({ ...w.run, durationMs: cfg.durationMs });
        const s1 = await servers[side].probe('stats');
        const m = repMetrics(r, s0, s1);
        reps[side].push(m);
        log(
          `  rep ${rep + 1}/${cfg.reps} ${side.padEnd(8)} ${m.runsPerSec.toFixed(0).padStart(6)} runs/s  p50 ${m.runLatP50.toFixed(2)} ms  p99 ${m.runLatP99.toFixed(2)} ms  ${m.serverCpuUsPerRun.toFixed(0)} µs CPU/run  errors ${m.errors}`,
        );
      }
    }
    const med = (side) => Object.fromEntries(METRICS.map(([k]) => [k, median(reps[side].map((m) => m[k]))]));
    // Ratios per repetition pair as well: on a shared machine they hold up better than ratios of medians.
    const pairRatios = Object.fromEntries(
      ['runsPerSec', 'serverCpuUsPerRun', 'runLatP99'].map((k) => [k, median(reps.app.map((m, i) => ratio(m[k], reps.baseline[i]?.[k])))]),
    );
    return { title: w.title, baseline: med('baseline'), app: med('app'), pairRatios, reps, loadavg: loadavg() };
  } finally {
    await Promise.all([loads.baseline.close(), loads.app.close()]);
  }
}

async function throughputPhase(appDir, names, results) {
  log(`Throughput: starting baseline and app (load average ${loadavg().join(' ')}) ...`);
  const [baseline, app] = await Promise.all([ServerProc.start('baseline'), ServerProc.start('app', { appDir })]);
  const servers = { baseline, app };
  try {
    // First the workloads that are also measured as the servers start (no HTTP request yet) ...
    for (const name of names.filter((n) => cfg.beforeHttp.has(n))) {
      results.workloadsBeforeHttp[name] = await measureWorkload(name, servers, 'before');
    }
    // ... then one HTTP request to each, and every workload again: the headline figures.
    await Promise.all([httpCheck(baseline), httpCheck(app)]);
    for (const name of names) results.workloads[name] = await measureWorkload(name, servers, 'after');
  } finally {
    await Promise.all([baseline.stop(), app.stop()]);
  }
}

async function heapPhase(appDir, results) {
  log(`Heap: ${cfg.heapRuns} echo runs per server after ${cfg.heapWarmupRuns} warm-up runs (load average ${loadavg().join(' ')}) ...`);
  const recoveryMs = cfg.heapRecoveryMs ?? cfg.recoveryMs;
  const [baseline, app] = await Promise.all([
    ServerProc.start('baseline', { recoveryMs }),
    ServerProc.start('app', { appDir, recoveryMs }),
  ]);
  const out = {};
  try {
    await Promise.all([httpCheck(baseline), httpCheck(app)]);
    for (const [side, server] of [
      ['baseline', baseline],
      ['app', app],
    ]) {
      const load = LoadProc.start();
      await load.connect(server.url, WORKLOADS.echo.users());
      const plan = { ...WORKLOADS.echo.run, maxSamples: 0 };
      await load.run({ ...plan, maxRuns: cfg.heapWarmupRuns });
      await sleep(500);
      // The recovery buffer of the warm-up is expired too, so before and after compare like with like.
      await server.probe('expire-recovery', { olderThanMs: 0 });
      const g0 = await server.probe('gc');
      const t0 = Date.now();
      const r = await load.run({ ...plan, maxRuns: cfg.heapRuns });
      const seconds = (Date.now() - t0) / 1000;
      await sleep(500); // last batch flushed, timers cleared
      const g1 = await server.probe('gc'); // default window: what SOCKET_RECOVERY_MS keeps right now
      const packets = g1.nsp.find((n) => n.name === '/agents')?.recoveryPackets ?? null;
      const e = await server.probe('expire-recovery', { olderThanMs: 0 });
      const g2 = await server.probe('gc'); // after the window has passed
      await load.close();
      const m = {
        runs: r.completed,
        errors: r.seqErrors + r.stuck,
        seconds,
        runsPerSec: r.completed / seconds,
        heapBeforeMB: g0.mem.heapUsed / MB,
        heapGrowthWithRecoveryMB: (g1.mem.heapUsed - g0.mem.heapUsed) / MB,
        recoveryPacketsHeld: packets,
        recoveryPacketsDropped: e.dropped,
        heapGrowthMB: (g2.mem.heapUsed - g0.mem.heapUsed) / MB,
        bytesPerRunRetained: (g2.mem.heapUsed - g0.mem.heapUsed) / Math.max(1, r.completed),
        rssGrowthMB: (g2.mem.rss - g0.mem.rss) / MB,
        externalGrowthMB: (g2.mem.external - g0.mem.external) / MB,
      };
      out[side] = m;
      log(
        `  ${side.padEnd(8)} ${m.runs} runs in ${seconds.toFixed(1)} s: heap +${m.heapGrowthWithRecoveryMB.toFixed(2)} MB with the recovery buffer (${packets} packets), +${m.heapGrowthMB.toFixed(2)} MB once it expired`,
      );
    }
  } finally {
    await Promise.all([baseline.stop(), app.stop()]);
  }
  results.heap = { runs: cfg.heapRuns, recoveryWindowMs: cfg.heapRecoveryMs ?? cfg.recoveryMs ?? 0, ...out, loadavg: loadavg() };
}

async function socketsPhase(appDir, results) {
  const n = cfg.sockets;
  log(
    `Sockets: ${n} authenticated sockets (distinct users) over ${cfg.socketProcs} load processes; ulimit -n ${JSON.stringify(fileLimits())} ...`,
  );
  const out = {};
  // Both start together (saves a start-up); each is measured while the other sits idle.
  const started = { baseline: ServerProc.start('baseline'), app: ServerProc.start('app', { appDir }) };
  for (const p of Object.values(started)) p.catch(() => undefined); // rejections are seen when awaited
  for (const side of ['baseline', 'app']) {
    const server = await started[side];
    try {
      await httpCheck(server);
      await sleep(1000);
      const m0 = await server.probe('gc');
      const loads = Array.from({ length: cfg.socketProcs }, () => LoadProc.start());
      const per = Math.ceil(n / loads.length);
      const t0 = Date.now();
      const conns = await Promise.all(
        loads.map((l, p) =>
          l.connect(
            server.url,
            Array.from({ length: Math.max(0, Math.min(per, n - p * per)) }, (_, i) => ({ userId: `sock-${p * per + i}`, sockets: 1 })),
            100,
          ),
        ),
      );
      const connectSeconds = (Date.now() - t0) / 1000;
      await sleep(2000);
      const m1 = await server.probe('gc');
      const connected = conns.reduce((a, c) => a + c.connected, 0);
      const failed = conns.reduce((a, c) => a + c.failed, 0);
      const serverSockets = m1.nsp.find((x) => x.name === '/agents')?.sockets ?? null;
      await Promise.all(loads.map((l) => l.close()));
      const k = connected / 1000;
      out[side] = {
        connected,
        failed,
        serverSockets,
        connectSeconds,
        rssBeforeMB: m0.mem.rss / MB,
        rssAfterMB: m1.mem.rss / MB,
        rssPer1000MB: (m1.mem.rss - m0.mem.rss) / MB / k,
        heapPer1000MB: (m1.mem.heapUsed - m0.mem.heapUsed) / MB / k,
        errors: conns.map((c) => c.errors).filter((e) => Object.keys(e).length),
      };
      log(
        `  ${side.padEnd(8)} ${connected} connected (${failed} failed) in ${connectSeconds.toFixed(1)} s: RSS ${out[side].rssBeforeMB.toFixed(0)} → ${out[side].rssAfterMB.toFixed(0)} MB, ${out[side].rssPer1000MB.toFixed(1)} MB per 1,000`,
      );
    } finally {
      await server.stop();
    }
  }
  results.sockets = { target: n, fileLimits: fileLimits(), ...out, loadavg: loadavg() };
}

/** Runs a microbenchmark script as its own process and returns the JSON on its `<marker> ` line. */
function runMicro(script, marker, appDir, nodeArgs = []) {
  const r = spawnSync(
    process.execPath,
    [...nodeArgs, path.join(BENCH_DIR, script), appDir, `--ms=${QUICK ? 700 : 1500}`, `--rounds=${QUICK ? 2 : 3}`, '--json'],
    {
      cwd: ROOT,
      env: cleanEnv({}),
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith(`${marker} `));
  if (!line) throw new Error(`${script} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice(marker.length + 1));
}

function diPhase(appDir, results) {
  log('DI microbenchmark ...');
  results.di = runMicro('di-micro.js', 'DI-RESULT', appDir, ['--expose-gc']);
}

function storePhase(appDir, results) {
  log('Store microbenchmark ...');
  results.store = runMicro('store-micro.js', 'STORE-RESULT', appDir);
}

async function profileOne(kind, appDir, dir) {
  const workload = WORKLOADS[cfg.profileWorkload];
  if (!workload) throw new Error(`--profile-workload: no workload '${cfg.profileWorkload}'`);
  // One directory per server and Node's default names (`CPU.<date>.<time>.<pid>.<tid>.<seq>`): a
  // fixed --cpu-prof-name is shared by every thread, so a worker's (the checkpointer's) profile
  // overwrote the main thread's. The main thread is tid 0.
  const kindDir = path.join(dir, `${kind}-${cfg.profileWorkload}`);
  fs.mkdirSync(kindDir, { recursive: true });
  const server = await ServerProc.start(kind, { appDir, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', kindDir] });
  const load = LoadProc.start();
  let window;
  try {
    await httpCheck(server);
    await load.connect(server.url, workload.users());
    await load.run({ ...workload.run, durationMs: cfg.warmupMs });
    const s0 = await server.probe('stats');
    const r = await load.run({ ...workload.run, durationMs: cfg.durationMs });
    const s1 = await server.probe('stats');
    window = { fromUs: s0.hrtimeUs, toUs: s1.hrtimeUs, runs: r.completed, cpuUsPerRun: (cpuUs(s1) - cpuUs(s0)) / r.completed };
    await load.close();
  } finally {
    await server.stop();
  }
  const main = fs.readdirSync(kindDir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (!main) throw new Error(`no profile of the main thread was written for ${kind}`);
  const file = path.join(kindDir, main);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Only the measured window (no start-up, no warm-up); the whole profile if the clocks disagree.
  let summary = summarize(profile, window);
  if (summary.samples < 100) summary = summarize(profile);
  fs.writeFileSync(path.join(RESULTS_DIR, `profile-summary.${kind}.txt`), `${formatSummary(summary, 30)}\n`);
  return {
    file: path.relative(ROOT, file),
    window,
    busyMs: summary.busyMs,
    busyUsPerRun: (summary.busyMs * 1000) / window.runs,
    samples: summary.samples,
    byPackage: summary.byPackage.slice(0, 25),
    byFile: summary.byFile.slice(0, 30),
    byFunction: summary.byFunction.slice(0, 40),
  };
}

async function profilePhase(appDir, results) {
  const dir = path.join(RESULTS_DIR, 'profile');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`CPU profiles (node --cpu-prof) of the app and the baseline during the ${cfg.profileWorkload} workload ...`);
  results.profile = await profileOne('app', appDir, dir);
  results.profileBaseline = await profileOne('baseline', appDir, dir);
}

// ---------------------------------------------------------------- report
const fmt = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(d));
const ratio = (a, b) => (a === null || b === null || !b ? null : a / b);

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

function targets(results) {
  const t = [];
  const echo = results.workloads.echo;
  if (echo) {
    const r1 = ratio(echo.app.runsPerSec, echo.baseline.runsPerSec);
    t.push({ target: 'echo runs/s ≥ 0.9× baseline (after an HTTP request)', value: `${fmt(r1, 2)}×`, met: r1 !== null && r1 >= 0.9 });
    const r2 = ratio(echo.app.serverCpuUsPerRun, echo.baseline.serverCpuUsPerRun);
    t.push({
      target: 'echo server CPU/run ≤ 1.3× baseline (after an HTTP request)',
      value: `${fmt(r2, 2)}×`,
      met: r2 !== null && r2 <= 1.3,
    });
    const r3 = ratio(echo.app.runLatP99, echo.baseline.runLatP99);
    t.push({
      target: 'echo p99 run latency ≤ 2× baseline (back to back, saturated)',
      value: `${fmt(r3, 2)}×`,
      met: r3 !== null && r3 <= 2,
    });
  }
  const paced = results.workloads.paced;
  if (paced) {
    const r4 = ratio(paced.app.runLatP99, paced.baseline.runLatP99);
    const skipped = paced.app.skippedStarts > 0 ? `, ${paced.app.skippedStarts} starts skipped` : '';
    t.push({
      target: `echo p99 run latency ≤ 2× baseline (paced, ${cfg.pacedRate} runs/s)`,
      value: `${fmt(r4, 2)}× (${fmt(paced.app.runLatP99, 1)} vs ${fmt(paced.baseline.runLatP99, 1)} ms${skipped})`,
      met: r4 !== null && r4 <= 2,
    });
  }
  if (results.heap?.app) {
    const h = results.heap.app;
    t.push({
      target: `heap growth < 5 MB after ${results.heap.runs.toLocaleString('en-US')} runs (after GC)`,
      value:
        results.heap.recoveryWindowMs > 0
          ? `${fmt(h.heapGrowthMB, 2)} MB once the recovery window passed; ${fmt(h.heapGrowthWithRecoveryMB, 1)} MB inside the ${results.heap.recoveryWindowMs / 1000} s recovery window`
          : `${fmt(h.heapGrowthMB, 2)} MB (connection state recovery off, the default)`,
      met: h.heapGrowthMB < 5 && h.runs >= results.heap.runs,
    });
  }
  if (results.sockets?.app) {
    const s = results.sockets.app;
    t.push({
      target: `${results.sockets.target.toLocaleString('en-US')} authenticated sockets, RSS/1,000 < 60 MB`,
      value: `${s.connected} connected, ${fmt(s.rssPer1000MB, 1)} MB per 1,000`,
      met: s.connected >= results.sockets.target && s.rssPer1000MB < 60,
    });
  }
  return t;
}

function render(results) {
  const parts = [];
  if (results.failures?.length) {
    parts.push(
      `### Phases that FAILED (their figures are missing below)\n\n${results.failures.map((f) => `- ${f.phase}: ${f.message}`).join('\n')}`,
    );
  }
  const workloadTable = (name, w, when) => {
    const rows = METRICS.filter(
      ([k]) => !(name !== 'fanout' && k === 'deliveriesPerSec') && !(name !== 'paced' && k === 'skippedStarts'),
    ).map(([k, label, d]) => [label, fmt(w.baseline[k], d), fmt(w.app[k], d), `${fmt(ratio(w.app[k], w.baseline[k]), 2)}×`]);
    const pairs = w.pairRatios
      ? ` Median of the per-repetition ratios (app/baseline): runs/s ${fmt(w.pairRatios.runsPerSec, 2)}×, CPU/run ${fmt(w.pairRatios.serverCpuUsPerRun, 2)}×, run p99 ${fmt(w.pairRatios.runLatP99, 2)}×.`
      : '';
    return `### ${name} (${when}): ${w.title}\n\nMedians of ${cfg.reps} alternated repetitions of ${cfg.durationMs / 1000} s.${pairs}\n\n${table(['metric', 'baseline', 'app', 'app/baseline'], rows)}`;
  };
  const before = results.workloadsBeforeHttp ?? {};
  for (const [name, w] of Object.entries(before)) parts.push(workloadTable(name, w, 'before any HTTP request'));
  for (const [name, w] of Object.entries(results.workloads)) parts.push(workloadTable(name, w, 'after an HTTP request'));
  const both = Object.keys(before).filter((n) => results.workloads[n]);
  if (both.length) {
    const rows = [];
    for (const n of both) {
      for (const side of ['baseline', 'app']) {
        const b = before[n][side];
        const a = results.workloads[n][side];
        rows.push([
          `${n}, ${side}`,
          `${fmt(b.runsPerSec, 0)} → ${fmt(a.runsPerSec, 0)}`,
          `${fmt(ratio(a.runsPerSec, b.runsPerSec), 2)}×`,
          `${fmt(b.serverCpuUsPerRun, 0)} → ${fmt(a.serverCpuUsPerRun, 0)}`,
          `${fmt(ratio(a.serverCpuUsPerRun, b.serverCpuUsPerRun), 2)}×`,
        ]);
      }
    }
    parts.push(
      `### What one HTTP request changes (before → after \`GET /health\`)\n\n${table(['workload, server', 'runs/s', 'after/before', 'CPU µs/run', 'after/before'], rows)}`,
    );
  }
  if (results.heap?.app) {
    const h = results.heap;
    const rows = [
      ['runs', 'runs', 0],
      ['runsPerSec', 'runs/s over the whole run', 0],
      ['heapBeforeMB', 'heap used before (MB, after GC)', 1],
      ['heapGrowthWithRecoveryMB', `heap growth inside the ${h.recoveryWindowMs / 1000} s recovery window (MB)`, 2],
      ['recoveryPacketsHeld', 'packets held by connection-state recovery', 0],
      ['heapGrowthMB', 'heap growth once the recovery window passed (MB)', 2],
      ['bytesPerRunRetained', 'retained bytes per run (after the window)', 1],
      ['rssGrowthMB', 'RSS growth (MB)', 1],
    ].map(([k, label, d]) => [label, fmt(h.baseline?.[k], d), fmt(h.app[k], d), `${fmt(ratio(h.app[k], h.baseline?.[k]), 2)}×`]);
    parts.push(
      `### heap: ${h.runs.toLocaleString('en-US')} echo runs, forced GC in the server before and after\n\n${table(['metric', 'baseline', 'app', 'app/baseline'], rows)}`,
    );
  }
  if (results.sockets?.app) {
    const s = results.sockets;
    const rows = [
      ['connected', 'sockets connected', 0],
      ['connectSeconds', 'time to connect all (s)', 1],
      ['rssBeforeMB', 'RSS before (MB)', 0],
      ['rssAfterMB', 'RSS after (MB)', 0],
      ['rssPer1000MB', 'RSS per 1,000 sockets (MB)', 1],
      ['heapPer1000MB', 'heap per 1,000 sockets (MB)', 1],
    ].map(([k, label, d]) => [label, fmt(s.baseline?.[k], d), fmt(s.app[k], d), `${fmt(ratio(s.app[k], s.baseline?.[k]), 2)}×`]);
    parts.push(
      `### sockets: ${s.target.toLocaleString('en-US')} authenticated sockets, distinct users, one connection each\n\n${table(['metric', 'baseline', 'app', 'app/baseline'], rows)}`,
    );
  }
  if (results.di) {
    const base = results.di.find((d) => d.name.startsWith('new (same'));
    const rows = results.di.map((d) => [
      d.name,
      fmt(d.opsPerSec, 0),
      fmt(d.usPerOp, 2),
      fmt(d.cpuUsPerOp, 2),
      `${fmt(base ? d.cpuUsPerOp / base.cpuUsPerOp : null, 1)}×`,
    ]);
    parts.push(
      `### DI microbenchmark (per run: orchestrator + notifier)\n\n${table(['variant', 'ops/s', 'µs/op (wall)', 'µs/op (CPU)', 'CPU vs new'], rows)}`,
    );
  }
  if (results.store) {
    const rows = results.store.map((d) => [d.name, fmt(d.runsPerSec, 0), fmt(d.cpuUsPerRun, 1)]);
    parts.push(
      `### Store microbenchmark (one echo run: createRun + appendEvents of 4 events, SQLite WAL file)\n\n${table(['variant', 'runs/s', 'CPU µs/run'], rows)}`,
    );
  }
  if (results.profile) {
    const p = results.profile;
    const rows = p.byPackage.slice(0, 12).map((r) => [r.name, fmt(r.selfMs, 0), fmt(r.pct, 1)]);
    const frows = p.byFunction.slice(0, 15).map((r) => [r.name, fmt(r.selfMs, 0), fmt(r.pct, 1)]);
    const b = results.profileBaseline;
    const head =
      `${p.samples} samples, ${fmt(p.busyMs, 0)} ms busy over ${p.window.runs} runs = ${fmt(p.busyUsPerRun, 0)} µs busy per run` +
      (b ? `; baseline ${fmt(b.busyUsPerRun, 0)} µs` : '');
    parts.push(
      `### CPU profile of the app, ${cfg.profileWorkload} workload (${head})\n\n${table(['package', 'self ms', '% busy'], rows)}\n\n${table(['function', 'self ms', '% busy'], frows)}`,
    );
  }
  const t = targets(results);
  if (t.length)
    parts.push(
      `### Targets\n\n${table(
        ['target', 'measured', 'met'],
        t.map((x) => [x.target, x.value, x.met ? 'yes' : 'NO']),
      )}`,
    );
  return parts.join('\n\n');
}

// ---------------------------------------------------------------- main
async function main() {
  const started = Date.now();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const appDir = ensureApp();
  const git = (a) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  const cpuModel = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] ?? os.cpus()[0]?.model;
  const results = {
    meta: {
      date: new Date().toISOString(),
      mode: QUICK ? 'quick' : 'full',
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      config: { ...cfg, only: [...cfg.only] },
      machine: {
        cpu: cpuModel,
        cores: os.cpus().length,
        memoryGB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        node: process.version,
        os: `${os.type()} ${os.release()}`,
        fileLimits: fileLimits(),
      },
      app: {
        dir: path.relative(ROOT, appDir),
        commit: git(['rev-parse', '--short', 'HEAD']),
        srcChangesUncommitted: (git(['status', '--porcelain', 'src']) || '').split('\n').filter(Boolean).length,
      },
      server: {
        env: 'RATE_LIMIT_RUNS_PER_MINUTE=0 MAX_CONCURRENT_RUNS_PER_USER=16 DATABASE_URL=sqlite:<fresh file> SOCKET_RECOVERY_MS=<default>',
        appEnv: cfg.appEnv,
        nodeArgs: '--expose-gc -r bench/server-probe.js',
      },
      loadavgStart: loadavg(),
    },
    workloads: {},
    workloadsBeforeHttp: {},
  };
  log(`${results.meta.mode} bench on ${cpuModel}, ${os.cpus().length} cores, Node ${process.version}, load average ${loadavg().join(' ')}`);
  if (loadavg()[0] > os.cpus().length * 0.5) {
    log(
      `WARNING: the machine is busy (load average ${loadavg()[0]} on ${os.cpus().length} cores): throughput and latency will be low and noisy; CPU µs per run and ratios hold up best.`,
    );
  }
  // A failing phase is reported, and the others still run and are written: a long run is not
  // thrown away for one part of it. The exit code says that something failed.
  const failures = [];
  const phase = async (name, run) => {
    try {
      await run();
    } catch (err) {
      const message = String((err && err.message) || err).split('\n')[0];
      failures.push({ phase: name, message });
      log(`Phase ${name} FAILED: ${(err && err.stack) || err}`);
    }
  };
  const names = ['echo', 'paced', 'mixed', 'fanout'].filter((n) => cfg.only.has(n));
  if (names.length) await phase(names.join(','), () => throughputPhase(appDir, names, results));
  if (cfg.only.has('heap')) await phase('heap', () => heapPhase(appDir, results));
  if (cfg.only.has('sockets')) await phase('sockets', () => socketsPhase(appDir, results));
  if (cfg.only.has('di')) await phase('di', () => diPhase(appDir, results));
  if (cfg.only.has('store')) await phase('store', () => storePhase(appDir, results));
  if (cfg.only.has('profile')) await phase('profile', () => profilePhase(appDir, results));
  results.failures = failures;
  if (failures.length > 0) process.exitCode = 1;
  results.targets = targets(results);
  results.meta.loadavgEnd = loadavg();
  results.meta.seconds = Math.round((Date.now() - started) / 1000);
  const md = `## Benchmark results (${results.meta.mode}, ${results.meta.date})\n\n${cpuModel}, ${os.cpus().length} cores, Node ${process.version}; load average at start ${results.meta.loadavgStart.join(' ')}, at end ${results.meta.loadavgEnd.join(' ')}; ${results.meta.seconds} s.\n\n${render(results)}\n`;
  console.log(`\n${md}`);
  // Only a complete full run replaces latest.*: --quick writes quick.*, a run of some phases partial.*.
  const name = argv.some((a) => a.startsWith('--only')) ? 'partial' : QUICK ? 'quick' : 'latest';
  fs.writeFileSync(
    path.join(RESULTS_DIR, `${name}.json`),
    `${JSON.stringify(results, (k, v) => (v instanceof Float64Array ? undefined : v), 2)}\n`,
  );
  fs.writeFileSync(path.join(RESULTS_DIR, `${name}.md`), md);
  log(`Wrote bench/results/${name}.json and ${name}.md in ${results.meta.seconds} s.`);
}

function killChildren() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('SIGINT', () => {
  killChildren();
  process.exit(130);
});
process.on('exit', () => {
  killChildren();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err.stack || err);
    process.exit(1);
  },
);
