'use strict';
/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function, by file and by
 * package, as a table or JSON.
 *
 *   node bench/profile-summary.js <file.cpuprofile> [--top=25] [--from-us=T] [--to-us=T] [--json]
 *
 * `--from-us` / `--to-us` keep only samples taken inside that window of the profile's clock
 * (CLOCK_MONOTONIC µs, the clock of `process.hrtime`), so start-up can be left out.
 * "Package" is the npm package a frame's file lives in (`@nestjs/core`, `socket.io-parser`, …),
 * `app:<dir>` for the app's own compiled files, `node:<module>` for Node's internals, and V8's
 * pseudo-frames (`(garbage collector)`, `(program)`, `(idle)`) as they are. "Layer" groups packages
 * (run store, socket writes, Socket.IO, Nest + rxjs, validation, logging + metrics, app code, GC, Node).
 */
const fs = require('node:fs');

function packageOf(url) {
  if (!url) return null;
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith('node:')) return `node:${file.slice(5).split('/').slice(0, 2).join('/')}`;
  // The packages' builds: the pipeline's folders count as app:pipeline/<folder>, as before the split.
  const pkg = file.match(/\/packages\/([^/]+)\/dist\/(.+)$/);
  if (pkg) {
    const parts = pkg[2].split('/');
    return pkg[1] === 'nestjs' ? `app:pipeline/${parts.length > 1 ? parts[0] : 'module'}` : `app:${pkg[1]}`;
  }
  const app = file.match(/\/(?:dist|bench\/\.app)\/(.+)$/);
  if (app) {
    const parts = app[1].split('/');
    return `app:${parts.length > 1 ? parts.slice(0, parts[0] === 'pipeline' ? 2 : 1).join('/') : parts[0]}`;
  }
  if (file.includes('/bench/')) return 'bench';
  return file;
}

function shortFile(url) {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  const pkg = file.match(/\/packages\/([^/]+)\/dist\/(.+)$/);
  if (pkg) return `@agent-pipeline/${pkg[1]}/${pkg[2]}`;
  const app = file.match(/\/(?:dist|bench\/\.app)\/(.+)$/);
  if (app) return `app/${app[1]}`;
  return file;
}

/** Coarse layers of a Socket.IO + Nest server, for "where does a run's CPU go". */
const LAYERS = [
  ['run store (SQLite)', /^(kysely|better-sqlite3|pg|app:pipeline\/store)$/],
  ['socket writes (kernel, loopback)', /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/],
  [
    'Socket.IO / engine.io / ws',
    /^(socket\.io|socket\.io-parser|socket\.io-adapter|engine\.io|engine\.io-parser|ws|@socket\.io\/.*|debug|base64id)$/,
  ],
  [
    'Nest DI / WebSocket layer / rxjs',
    /^(@nestjs\/core|@nestjs\/common|@nestjs\/websockets|@nestjs\/platform-socket\.io|rxjs|reflect-metadata|iterare|tslib)$/,
  ],
  [
    'validation (class-validator/-transformer)',
    /^(class-validator|class-transformer|validator|libphonenumber-js|app:pipeline\/validation)$/,
  ],
  [
    'logging and metrics',
    /^(pino|pino-std-serializers|sonic-boom|nestjs-pino|prom-client|app:observability|app:pipeline\/observability|fast-redact|thread-stream|tdigest|bintrees)$/,
  ],
  ["the server's own code (app: compiled src/, baseline: bench/)", /^(app:.*|bench)$/],
  ['garbage collector', /^\(garbage collector\)$/],
  ['Node internals, microtasks, timers', /^(node:|runMicrotasks|\(program\)|\(anonymous\)|utf8|createUnsafeArrayBuffer)/],
];

function layerOf(pkg) {
  for (const [name, re] of LAYERS) if (re.test(pkg)) return name;
  return 'other';
}

/**
 * @returns {{ totalMs, busyMs, samples, byFunction, byFile, byPackage, byLayer }} each list sorted by
 * self time: `{ name, selfMs, pct }` (pct of busy time: everything but `(idle)`).
 */
function summarize(profile, { fromUs = -Infinity, toUs = Infinity } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let t = profile.startTime;
  let kept = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's weight: time until the next sample
    if (t < fromUs || t > toUs) continue;
    kept++;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
  const byFunction = new Map();
  const byFile = new Map();
  const byPackage = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = nodes.get(id);
    total += us;
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    const file = shortFile(callFrame.url);
    const pkg = packageOf(callFrame.url) ?? name;
    add(byFunction, file ? `${name}  ${file}:${callFrame.lineNumber + 1}` : name, us);
    add(byFile, file || name, us);
    add(byPackage, pkg, us);
  }
  const busy = total - idle;
  const list = (map) =>
    [...map.entries()]
      .filter(([k]) => k !== '(idle)')
      .map(([name, us]) => ({ name, selfMs: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  const byLayer = new Map();
  for (const [pkg, us] of byPackage) if (pkg !== '(idle)') add(byLayer, layerOf(pkg), us);
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    samples: kept,
    byFunction: list(byFunction),
    byFile: list(byFile),
    byPackage: list(byPackage),
    byLayer: list(byLayer),
  };
}

function formatSummary(s, top = 25) {
  const rows = (title, list) =>
    [
      `${title}`,
      ...list.slice(0, top).map((r) => `  ${r.pct.toFixed(1).padStart(5)} %  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}`),
    ].join('\n');
  return [
    `samples ${s.samples}, busy ${s.busyMs.toFixed(0)} ms of ${s.totalMs.toFixed(0)} ms`,
    rows('Self time by layer:', s.byLayer),
    rows('Self time by package:', s.byPackage),
    rows('Self time by file:', s.byFile),
    rows('Self time by function:', s.byFunction),
  ].join('\n\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: node bench/profile-summary.js <file.cpuprofile> [--top=25] [--from-us=T] [--to-us=T] [--json]');
    process.exit(2);
  }
  const opt = (name) => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a === undefined ? undefined : Number(a.split('=')[1]);
  };
  const summary = summarize(JSON.parse(fs.readFileSync(file, 'utf8')), { fromUs: opt('from-us'), toUs: opt('to-us') });
  if (args.includes('--json')) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatSummary(summary, opt('top') ?? 25));
}

module.exports = { summarize, formatSummary, packageOf, layerOf };
