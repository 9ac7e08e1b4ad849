'use strict';
/** Helpers shared by the bench processes (orchestrator, load, micro-benchmarks). */
const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
const TERMINAL = new Set(['agent_completed', 'agent_error', 'agent_cancelled']);

/** Value at quantile q (0..1) of an ascending-sorted array (nearest rank). */
function quantileSorted(sorted, q) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

function percentiles(values, qs = [0.5, 0.99]) {
  const sorted = Float64Array.from(values).sort();
  return qs.map((q) => quantileSorted(sorted, q));
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** The open-files limit (soft, hard) of a shell started from this process. */
function fileLimits() {
  try {
    const soft = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return { soft, hard };
  } catch {
    return { soft: 'unknown', hard: 'unknown' };
  }
}

/**
 * Spawns `node <args>` with an IPC channel, through `sh` so that the open-files limit is first
 * raised to the hard limit (a plain Node process cannot call setrlimit).
 */
function spawnNode(nodeArgs, { env, cwd = ROOT, serialization = 'json' } = {}) {
  const quoted = [process.execPath, ...nodeArgs].map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ');
  return spawn('sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization,
  });
}

/** Request/reply over a child's IPC channel: `{ type, id, ... }` → `{ type: type + '-reply', id, ... }`. */
function ipcClient(child, type) {
  let next = 1;
  const waiting = new Map();
  child.on('message', (msg) => {
    if (!msg || msg.type !== `${type}-reply`) return;
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.error) w.reject(new Error(msg.error));
    else w.resolve(msg);
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error(`process exited (${code ?? signal}) while waiting for ${type}`));
    }
    waiting.clear();
  });
  return (cmd, body = {}, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${type} '${cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, { resolve, reject, timer });
      try {
        child.send({ type, id, cmd, ...body });
      } catch (err) {
        clearTimeout(timer);
        waiting.delete(id);
        reject(err);
      }
    });
}

/** Keeps the last lines of a stream (and consumes it, so a chatty child never blocks on a full pipe). */
function tail(stream, keep = 60, onLine) {
  const lines = [];
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const raw of parts) {
      const line = stripAnsi(raw);
      if (onLine) onLine(line);
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  });
  return lines;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The environment of a bench child: the shell's, less every server setting (each run sets its own). */
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (
      /^(PORT|HOST|JWT_.*|DATABASE_URL|REDIS_URL|RUN_TIMEOUT_MS|SHUTDOWN_GRACE_MS|MAX_CONCURRENT_RUNS_PER_USER|RATE_LIMIT_RUNS_PER_MINUTE|MAX_INPUT_BYTES|DEMO_AGENTS|CORS_ORIGINS|LOG_LEVEL|SOCKET_.*|MAX_SOCKETS_PER_USER|STORE_BACKLOG_MAX_EVENTS|NODE_ENV|NODE_OPTIONS|OPENAI_.*|LLM_.*)$/.test(
        k,
      )
    )
      delete env[k];
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/**
 * The build of @agent-pipeline/nestjs that the app in `appDir` loads (packages/nestjs/dist through
 * node_modules), so a bench can reach its internals by file; `undefined` when there is none.
 */
function pipelineDistOf(appDir) {
  try {
    return path.dirname(require.resolve('@agent-pipeline/nestjs', { paths: [appDir] }));
  } catch {
    return undefined;
  }
}

/**
 * Command line of a microbenchmark: `<appDir> [--ms=N] [--rounds=N] [--json]` (appDir defaults to
 * dist/). Shared by di-micro.js and store-micro.js.
 */
function microArgs(argv = process.argv.slice(2)) {
  const flag = (name, def) => {
    const a = argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.split('=')[1]) : def;
  };
  return {
    appDir: path.resolve(argv.find((a) => !a.startsWith('--')) ?? path.join(ROOT, 'dist')),
    ms: flag('ms', 1500),
    rounds: flag('rounds', 3),
    json: argv.includes('--json'),
  };
}

module.exports = {
  cleanEnv,
  pipelineDistOf,
  BENCH_DIR,
  ROOT,
  TERMINAL,
  percentiles,
  microArgs,
  quantileSorted,
  median,
  stripAnsi,
  fileLimits,
  spawnNode,
  ipcClient,
  tail,
  sleep,
};
