#!/usr/bin/env node
'use strict';
/**
 * npm run test:packages — the four packages used the way a user uses them: built, packed with
 * `npm pack`, installed from their tarballs (and their peers from the registry) into a fresh app
 * outside the repository, the DESIGN example compiled there with `tsc --strict`, started, and
 * talked to with the client (CommonJS and ES module builds), over HTTP, from a browser bundle and
 * with the testing harness. The app's files are test/packages/consumer/.
 *
 *   node scripts/test-packages.js [--no-build] [--keep] [--keep-going]
 *
 *   --no-build    use the packages' dist/ as they are (no `npm run build`)
 *   --keep        leave the temporary directory (its path is printed)
 *   --keep-going  after a failure, run the steps that do not depend on the failed one
 *
 * Exits non-zero on the first failure (with --keep-going: after the last step). `npm pack` runs
 * with --ignore-scripts: the packages' `prepack` would build them again after the build step.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { builtinModules } = require('node:module');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..');
const FIXTURE = path.join(ROOT, 'test', 'packages', 'consumer');
const { WORKSPACES: PACKAGES } = require('./workspaces');
/** What a user installs next to the packages: the peers, pinned by major; never pg or ioredis. */
const REGISTRY_DEPENDENCIES = [
  '@nestjs/common@11',
  '@nestjs/core@11',
  '@nestjs/platform-express@11',
  '@nestjs/websockets@11',
  '@nestjs/platform-socket.io@11',
  '@nestjs/testing@11',
  'socket.io@4',
  'rxjs@7',
  'reflect-metadata@0.2',
  'class-validator@0.14',
  'class-transformer@0.5',
  'typescript@5.9',
  '@types/node@20',
];
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const OPTIONS = new Set(['--no-build', '--keep', '--keep-going']);
const argv = process.argv.slice(2);
for (const arg of argv) {
  if (!OPTIONS.has(arg)) {
    console.error(`test-packages: unknown option ${arg} (known: ${[...OPTIONS].join(', ')})`);
    process.exit(2);
  }
}
const BUILD = !argv.includes('--no-build');
const KEEP = argv.includes('--keep');
const KEEP_GOING = argv.includes('--keep-going');

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set();
let consumer;

/** The environment of the app's commands: none of the repository's npm settings leak in. */
function appEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || ['INIT_CWD', 'NODE_PATH', 'NODE_OPTIONS', 'PORT', 'DATABASE_URL', 'REDIS_URL'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false', ...extra };
}

// eslint-disable-next-line no-control-regex -- terminal colours out of the children's output
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');
const tail = (text, lines = 40) => stripAnsi(text).trimEnd().split('\n').slice(-lines).join('\n');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs a command to its end; resolves { code, signal, stdout, stderr, timedOut }. */
function run(cmd, args, { cwd, env = process.env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also ends what it started (npm → node-gyp → make).
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs a command that must succeed; throws with its command line and the end of its output. */
async function mustRun(cmd, args, options = {}) {
  const result = await run(cmd, args, options);
  if (result.timedOut || result.code !== 0) {
    const how = result.timedOut
      ? `did not finish within ${seconds(options.timeoutMs ?? 120_000)}`
      : `exited with ${result.code ?? result.signal}`;
    throw new Error(
      `\`${[cmd, ...args].join(' ')}\` (in ${options.cwd ?? process.cwd()}) ${how}:\n${tail(result.stdout + '\n' + result.stderr)}`,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Steps

const results = [];
const notes = [];

function note(text) {
  notes.push(text);
  console.log(`    note: ${text}`);
}

/** Runs one step, timed; `needs` names the steps it cannot run without (for --keep-going). */
async function step(name, needs, fn) {
  const missing = needs.filter((n) => !results.some((r) => r.name === n && r.status === 'ok'));
  if (missing.length > 0) {
    results.push({ name, status: 'skipped', ms: 0, detail: `needs ${missing.join(', ')}` });
    console.log(`- ${name}: skipped (needs ${missing.join(', ')})`);
    return;
  }
  console.log(`▶ ${name}`);
  const t0 = performance.now();
  try {
    const detail = (await fn()) ?? '';
    const ms = performance.now() - t0;
    results.push({ name, status: 'ok', ms, detail });
    console.log(`✔ ${name} (${seconds(ms)})${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    const ms = performance.now() - t0;
    const message = err instanceof Error ? err.message : String(err);
    results.push({ name, status: 'FAILED', ms, detail: firstLines(message) });
    console.log(`✘ ${name} (${seconds(ms)}): ${message}`);
    if (!KEEP_GOING) throw new StepFailed(name);
  }
}

class StepFailed extends Error {}

/** The start of a failure message, for the summary. */
function firstLines(message) {
  const text = message
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 2)
    .join(' ')
    .replace(/\s+/g, ' ');
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------
// Tarball checks

/** Every string target of an `exports` value, with where it was found. */
function exportTargets(value, where, out = []) {
  if (typeof value === 'string') out.push([where, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => exportTargets(v, `${where}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) exportTargets(v, `${where}[${JSON.stringify(k)}]`, out);
  return out;
}

/** Comments out of JS/d.ts text (block comments, and line comments that start a line). */
function withoutComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Module specifiers of compiled JS or declaration text. */
function specifiersOf(text) {
  const specs = new Set();
  const patterns = [
    /\brequire\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /(?:^|[\s;}])(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
    /(?:^|[\s;}])import\s*(['"])([^'"\n]+)\1/g,
    /\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g,
    /\/\/\/\s*<reference\s+(?:path|types)=(['"])([^'"\n]+)\1/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) specs.add(m[2]);
  // Triple-slash references live in comments: read them from the original text.
  return [...specs];
}

const packageNameOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** Checks one tarball; returns { problems, warnings, summary }. */
function checkTarball(tgz, unpackDir, packedManifests) {
  const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const files = new Set(listing.filter((f) => !f.endsWith('/')).map((f) => f.replace(/^package\//, '')));
  fs.mkdirSync(unpackDir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', unpackDir]);
  const pkgDir = path.join(unpackDir, 'package');
  const read = (rel) => fs.readFileSync(path.join(pkgDir, rel), 'utf8');
  const pkg = JSON.parse(read('package.json'));
  const problems = [];
  const warnings = [];
  const name = pkg.name;
  const norm = (rel) => path.posix.normalize(rel).replace(/^\.\//, '');
  const inside = (rel) => !norm(rel).startsWith('../') && norm(rel) !== '..';
  const has = (rel) => files.has(norm(rel));

  // Entry points: main, module, types, browser, exports (every condition of every subpath).
  const targets = [];
  for (const field of ['main', 'module', 'types', 'typings', 'browser']) {
    if (typeof pkg[field] === 'string') targets.push([field, pkg[field]]);
  }
  if (pkg.exports !== undefined) targets.push(...exportTargets(pkg.exports, 'exports'));
  for (const [field, target] of targets) {
    if (target.includes('*')) {
      const [prefix, suffix] = norm(target).split('*');
      if (![...files].some((f) => f.startsWith(prefix) && f.endsWith(suffix)))
        problems.push(`${field} → ${target} matches no file in the tarball`);
    } else if (!inside(target)) problems.push(`${field} → ${target} points outside the package`);
    else if (!has(target)) problems.push(`${field} → ${target} is not in the tarball`);
  }

  // Subpath exports need a stub folder (<subpath>/package.json) for moduleResolution node10 and
  // old bundlers; every stub folder's main/types must be in the tarball too.
  const subpaths = pkg.exports && typeof pkg.exports === 'object' ? Object.keys(pkg.exports).filter((k) => k.startsWith('./')) : [];
  for (const key of subpaths) {
    if (key === './package.json' || key.includes('*')) continue;
    const stub = `${norm(key)}/package.json`;
    if (!has(stub))
      problems.push(
        `exports['${key}'] has no ${stub} stub in the tarball (needed where 'exports' is not read, e.g. moduleResolution node10)`,
      );
  }
  const stubs = [...files].filter((f) => f !== 'package.json' && f.endsWith('/package.json'));
  for (const stub of stubs) {
    const stubPkg = JSON.parse(read(stub));
    const dir = path.posix.dirname(stub);
    for (const field of ['main', 'module', 'types', 'typings']) {
      if (typeof stubPkg[field] !== 'string') continue;
      const target = path.posix.join(dir, stubPkg[field]);
      if (!inside(target)) problems.push(`${stub} ${field} → ${stubPkg[field]} points outside the package`);
      else if (!has(target)) problems.push(`${stub} ${field} → ${stubPkg[field]} (${target}) is not in the tarball`);
    }
    const exported = pkg.exports?.[`./${dir}`];
    const exportedTypes = typeof exported === 'object' ? exported?.types : undefined;
    if (exportedTypes && stubPkg.types && norm(path.posix.join(dir, stubPkg.types)) !== norm(exportedTypes)) {
      warnings.push(`${stub} types (${stubPkg.types}) differ from exports['./${dir}'].types (${exportedTypes})`);
    }
  }

  // What `files` promises.
  for (const entry of pkg.files ?? []) {
    const e = norm(entry);
    if (![...files].some((f) => f === e || f.startsWith(`${e}/`)))
      warnings.push(`'files' lists ${entry}, but the tarball has no such file`);
  }
  for (const f of files) {
    if (
      /^(src|test)\//.test(f) ||
      /\.(spec|e2e-spec)\.[cm]?[jt]s$/.test(f) ||
      /(^|\/)tsconfig[^/]*\.json$/.test(f) ||
      /\.tsbuildinfo$/.test(f)
    ) {
      warnings.push(`${f} is shipped but is not needed by users`);
    }
  }

  // Every module specifier of the compiled code and the declarations.
  const declared = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ]);
  // Declarations that import a package the app may not have: reported once per package.
  const undeclaredTypes = new Map();
  const optionalPeerTypes = new Map();
  /** The declaration files each declaration file imports, to know what the main entry's types load. */
  const dtsImports = new Map();
  const typeOnly = (map, dep, file) => map.set(dep, [...(map.get(dep) ?? []), file]);
  let scanned = 0;
  for (const f of [...files].sort()) {
    const isDts = /\.d\.[cm]?ts$/.test(f);
    const isJs = /\.[cm]?js$/.test(f);
    if (!isDts && !isJs) continue;
    scanned++;
    const original = read(f);
    const text = withoutComments(original);
    const specs = new Set(specifiersOf(text));
    if (isDts)
      for (const m of original.matchAll(/\/\/\/\s*<reference\s+(path|types)=(['"])([^'"\n]+)\2/g))
        specs.add(m[1] === 'path' ? `./${m[3].replace(/^\.\//, '')}` : m[3]);
    for (const spec of specs) {
      const where = `${f}: '${spec}'`;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        if (spec.startsWith('/')) {
          problems.push(`${where} is an absolute path`);
          continue;
        }
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), spec));
        if (!inside(target)) {
          problems.push(`${where} reaches outside the package (${target})`);
          continue;
        }
        if (/^(src|test)(\/|$)/.test(target)) {
          problems.push(`${where} points into ${target.split('/')[0]}/, which is not shipped`);
          continue;
        }
        const candidates = isDts
          ? [target, `${target}.d.ts`, `${target}/index.d.ts`, target.replace(/\.([cm]?)js$/, '.d.$1ts')]
          : f.endsWith('.mjs')
            ? [target]
            : [target, `${target}.js`, `${target}.json`, `${target}.cjs`, `${target}/index.js`];
        const found = candidates.find((c) => files.has(c));
        if (!found) problems.push(`${where} resolves to nothing in the tarball`);
        else if (isDts) typeOnly(dtsImports, f, found);
        continue;
      }
      if (BUILTINS.has(spec)) continue;
      const dep = packageNameOf(spec);
      if (/(^|\/)src(\/|$)/.test(spec.slice(dep.length))) {
        problems.push(`${where} imports the sources (src/) of ${dep}, which are not shipped`);
        continue;
      }
      if (dep === name) continue;
      // A .d.ts may name a package whose types come from @types/<name> (express).
      const typesPackage = `@types/${dep.replace(/^@([^/]+)\//, '$1__')}`;
      if (!declared.has(dep) && !(isDts && declared.has(typesPackage))) {
        if (isDts) typeOnly(undeclaredTypes, dep, f);
        else problems.push(`${where}: ${dep} is not in dependencies or peerDependencies`);
        continue;
      }
      if (isDts && pkg.peerDependenciesMeta?.[dep]?.optional) typeOnly(optionalPeerTypes, dep, f);
      const sub = spec.slice(dep.length);
      const other = packedManifests.get(dep);
      if (sub && other?.exports && typeof other.exports === 'object' && !(`.${sub}` in other.exports)) {
        problems.push(`${where}: ${dep} does not export '.${sub}'`);
      }
    }
    if (isJs) {
      const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(original)?.[1];
      if (map && !map.startsWith('data:')) {
        const mapPath = path.posix.join(path.posix.dirname(f), map);
        if (!files.has(mapPath)) warnings.push(`${f}: its source map ${map} is not in the tarball`);
        else {
          const json = JSON.parse(read(mapPath));
          const withoutContent = (json.sources ?? []).filter((_, i) => typeof json.sourcesContent?.[i] !== 'string');
          if (withoutContent.length > 0)
            warnings.push(`${mapPath}: ${withoutContent.join(', ')} without sourcesContent (src/ is not shipped)`);
        }
      }
    }
  }
  const list = (names) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
  for (const [dep, names] of undeclaredTypes) {
    warnings.push(`${names.length} .d.ts file(s) import '${dep}', which is in neither dependencies nor peerDependencies (${list(names)})`);
  }
  // An app's compile loads the main entry's declarations and whatever they import: those must not
  // need an optional peer (a subpath such as ./testing may: its users install that peer).
  const mainTypes = [pkg.types, pkg.typings, pkg.exports?.['.']?.types].filter((t) => typeof t === 'string').map(norm);
  const loaded = new Set(mainTypes);
  const queue = [...mainTypes];
  while (queue.length > 0) {
    for (const next of dtsImports.get(queue.pop()) ?? []) {
      if (loaded.has(next)) continue;
      loaded.add(next);
      queue.push(next);
    }
  }
  for (const [dep, all] of optionalPeerTypes) {
    const names = all.filter((f) => loaded.has(f));
    if (names.length === 0) continue;
    warnings.push(
      `${names.length} .d.ts file(s) import the optional peer '${dep}': its main entry's types need it, so an app without it compiles only with skipLibCheck (${list(names)})`,
    );
  }
  return {
    name,
    pkg,
    problems,
    warnings,
    summary: `${name}: ${files.size} files, ${targets.length} entry points, ${scanned} .js/.d.ts scanned`,
  };
}

// ---------------------------------------------------------------------------------------------
// The consumer

function startConsumer(app, entry, env = {}) {
  const child = spawn(process.execPath, [entry], { cwd: app, env: appEnv({ PORT: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { child, output: '', exited: null };
  children.add(child);
  child.stdout.on('data', (d) => (proc.output += d));
  child.stderr.on('data', (d) => (proc.output += d));
  proc.exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      proc.exited = { code, signal };
      children.delete(child);
      resolve(proc.exited);
    }),
  );
  proc.port = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} printed no port within 30 s:\n${tail(proc.output)}`)), 30_000);
    const onData = () => {
      const m = /listening on port (\d+)/.exec(stripAnsi(proc.output));
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    proc.exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code ?? signal}) before it listened:\n${tail(proc.output)}`));
    });
  });
  proc.port.catch(() => undefined);
  return proc;
}

/** Runs an entry that must fail to start; resolves its output. */
async function expectStartFailure(app, entry, env, peer) {
  const result = await run(process.execPath, [entry], { cwd: app, env: appEnv({ PORT: '0', ...env }), timeoutMs: 30_000 });
  const output = stripAnsi(result.stdout + result.stderr);
  const setting = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  if (result.timedOut) throw new Error(`with ${setting} the start neither failed nor ended within 30 s:\n${tail(output)}`);
  if (result.code === 0) throw new Error(`with ${setting} (and ${peer} not installed) the app started:\n${tail(output)}`);
  if (!new RegExp(`'${peer}'|npm install ${peer}\\b`).test(output)) {
    throw new Error(`with ${setting} the start failed (${result.code ?? result.signal}) without naming '${peer}':\n${tail(output)}`);
  }
  const line = output.split('\n').find((l) => l.includes(`'${peer}'`) || l.includes(`npm install ${peer}`));
  return line.trim().replace(/^.*?(Error: )/, '$1');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-pipeline-packages-'));
  const realTmp = fs.realpathSync(tmp);
  const tarballDir = path.join(tmp, 'tarballs');
  const app = path.join(tmp, 'app');
  const t0 = performance.now();
  console.log(`test-packages: temporary directory ${tmp}`);
  const tarballs = new Map();
  let port;
  let cleaned = false;

  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (consumer && consumer.exited === null) consumer.child.kill('SIGKILL');
    for (const child of children) killGroup(child, 'SIGKILL');
    if (KEEP) console.log(`test-packages: kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.log(`\ntest-packages: ${signal}, cleaning up`);
      cleanup();
      process.exit(130);
    });
  }

  try {
    const relative = path.relative(ROOT, realTmp);
    assert(relative.startsWith('..') || path.isAbsolute(relative), `the temporary directory ${realTmp} is inside the repository`);

    if (BUILD) {
      await step('build', [], async () => {
        await mustRun('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 300_000 });
        return 'npm run build';
      });
    } else {
      results.push({ name: 'build', status: 'ok', ms: 0, detail: 'skipped (--no-build)' });
      console.log('- build: skipped (--no-build)');
    }

    await step('pack', ['build'], async () => {
      for (const p of PACKAGES) {
        for (const f of ['dist/index.js', 'dist/index.d.ts']) {
          assert(fs.existsSync(path.join(ROOT, 'packages', p, f)), `packages/${p}/${f} is missing: build first`);
        }
      }
      fs.mkdirSync(tarballDir, { recursive: true });
      const { stdout } = await mustRun(
        'npm',
        ['pack', '--workspaces', '--ignore-scripts', '--pack-destination', tarballDir, '--json', '--silent'],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
        },
      );
      const packed = JSON.parse(stdout.slice(stdout.indexOf('[')));
      for (const entry of packed) tarballs.set(entry.name, path.join(tarballDir, entry.filename));
      const expected = PACKAGES.map((p) => `@agent-pipeline/${p}`);
      assert(
        expected.every((n) => tarballs.has(n)) && tarballs.size === expected.length,
        `npm pack made ${[...tarballs.keys()].join(', ')}, expected ${expected.join(', ')}`,
      );
      for (const file of tarballs.values()) assert(fs.existsSync(file), `${file} is missing after npm pack`);
      return packed.map((e) => `${e.filename} (${e.entryCount} files, ${(e.size / 1024).toFixed(0)} KiB)`).join(', ');
    });

    await step('tarball contents', ['pack'], async () => {
      const manifests = new Map();
      for (const [name, file] of tarballs) {
        manifests.set(name, JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' })));
      }
      const problems = [];
      const summaries = [];
      for (const [name, file] of tarballs) {
        const result = checkTarball(file, path.join(tmp, 'unpacked', name.replace('/', '+')), manifests);
        summaries.push(result.summary);
        problems.push(...result.problems.map((p) => `${name}: ${p}`));
        for (const w of result.warnings) note(`${name}: ${w}`);
      }
      assert(problems.length === 0, `${problems.length} problem(s) in the tarballs:\n  ${problems.join('\n  ')}`);
      return summaries.join('; ');
    });

    await step('install', ['pack'], async () => {
      fs.mkdirSync(app, { recursive: true });
      // JOBS: node-gyp compiles better-sqlite3 (no prebuilt binary is downloaded here) on every core.
      const env = appEnv({ JOBS: 'max' });
      await mustRun('npm', ['init', '-y'], { cwd: app, env, timeoutMs: 60_000 });
      const tgzs = PACKAGES.map((p) => tarballs.get(`@agent-pipeline/${p}`));
      await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tgzs, ...REGISTRY_DEPENDENCIES], {
        cwd: app,
        env,
        timeoutMs: 420_000,
      });
      // The app resolves everything from its own node_modules, and has neither pg nor ioredis.
      const probe = [
        '@agent-pipeline/protocol',
        '@agent-pipeline/client',
        '@agent-pipeline/nestjs',
        '@agent-pipeline/nestjs/testing',
        '@agent-pipeline/llm',
        '@agent-pipeline/llm/testing',
        'better-sqlite3',
        '@nestjs/core',
      ];
      const script = `
        const out = {};
        for (const s of ${JSON.stringify([...probe, 'pg', 'ioredis', '@socket.io/redis-streams-adapter'])}) {
          try { out[s] = require('fs').realpathSync(require.resolve(s)); } catch (e) { out[s] = null; }
        }
        console.log(JSON.stringify(out));`;
      const { stdout } = await mustRun(process.execPath, ['-e', script], { cwd: app, env });
      const resolved = JSON.parse(stdout);
      const realApp = fs.realpathSync(app);
      for (const s of probe) {
        assert(resolved[s], `the app cannot resolve ${s}`);
        assert(resolved[s].startsWith(`${realApp}${path.sep}node_modules${path.sep}`), `${s} resolves to ${resolved[s]}, outside the app`);
      }
      for (const s of ['pg', 'ioredis'])
        assert(resolved[s] === null, `${s} is installed in the app (${resolved[s]}): the optional-peer checks need it absent`);
      // npm's view of the tree: no missing or invalid (non-optional) dependency.
      const ls = await run('npm', ['ls', '--all', '--json'], { cwd: app, env, timeoutMs: 60_000 });
      const tree = JSON.parse(ls.stdout || '{}');
      assert(!tree.problems?.length, `npm ls reports problems:\n  ${(tree.problems ?? []).join('\n  ')}`);
      const versions = ['@nestjs/core', 'socket.io', 'typescript', 'better-sqlite3']
        .map((n) => `${n}@${JSON.parse(fs.readFileSync(path.join(app, 'node_modules', n, 'package.json'), 'utf8')).version}`)
        .join(', ');
      return `4 tarballs + ${REGISTRY_DEPENDENCIES.length} registry packages (${versions})`;
    });

    await step('compile (tsc --strict)', ['install'], async () => {
      fs.cpSync(FIXTURE, app, { recursive: true, filter: (src) => !/(^|[\\/])(dist|node_modules)$/.test(src) });
      const { stdout, stderr } = await mustRun('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json', '--strict'], {
        cwd: app,
        env: appEnv(),
        timeoutMs: 120_000,
      });
      assert(!stdout.trim() && !stderr.trim(), `tsc printed:\n${stdout}${stderr}`);
      const entries = ['main', 'app.module', 'peers.main', 'greeter.check', 'types.check'].map((f) => `dist/${f}.js`);
      for (const f of entries) assert(fs.existsSync(path.join(app, f)), `tsc wrote no ${f}`);
      const sources = fs.readdirSync(path.join(app, 'src')).filter((f) => f.endsWith('.ts'));
      return `${sources.length} files (${sources.join(', ')}), no error`;
    });

    await step('start consumer', ['compile (tsc --strict)'], async () => {
      consumer = startConsumer(app, 'dist/main.js');
      port = await consumer.port;
      return `node dist/main.js listening on port ${port}`;
    });

    const url = () => `http://127.0.0.1:${port}`;
    const appScript = async (file) => {
      const { stdout } = await mustRun(process.execPath, [file, url()], { cwd: app, env: appEnv(), timeoutMs: 60_000 });
      return stdout.trim().split('\n').pop();
    };
    await step('client (CommonJS)', ['start consumer'], () => appScript('client.cjs'));
    await step('client (ES module)', ['start consumer'], () => appScript('client.mjs'));
    await step('HTTP', ['start consumer'], () => appScript('http.cjs'));

    await step('stop consumer', ['start consumer'], async () => {
      consumer.child.kill('SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 20_000));
      const exited = await Promise.race([consumer.exit, timeout]);
      assert(exited, `the consumer did not exit within 20 s of SIGTERM (enableShutdownHooks):\n${tail(consumer.output)}`);
      fs.writeFileSync(path.join(app, 'consumer.log'), stripAnsi(consumer.output));
      const errors = stripAnsi(consumer.output)
        .split('\n')
        .filter((l) => /\bERROR\b/.test(l));
      if (errors.length > 0) note(`the consumer logged ${errors.length} ERROR line(s):\n      ${errors.slice(0, 5).join('\n      ')}`);
      return `exited after SIGTERM (${exited.code ?? exited.signal})`;
    });

    await step('testing harness', ['compile (tsc --strict)'], async () => {
      const { stdout } = await mustRun(process.execPath, ['dist/greeter.check.js'], { cwd: app, env: appEnv(), timeoutMs: 60_000 });
      assert(/greeter\.check: ok/.test(stdout), `dist/greeter.check.js exited 0 without 'greeter.check: ok':\n${tail(stdout)}`);
      return "runAndCollect('greeter') completed with 'Hello, Ada!'; { name: 42 } → PipelineError VALIDATION_FAILED";
    });

    await step('missing optional peers', ['compile (tsc --strict)'], async () => {
      // Control: the same entry starts without the settings that need a peer.
      const control = startConsumer(app, 'dist/peers.main.js');
      try {
        await control.port;
      } finally {
        if (control.exited === null) control.child.kill('SIGKILL');
      }
      const redis = await expectStartFailure(app, 'dist/peers.main.js', { REDIS_URL: 'redis://127.0.0.1:6379' }, 'ioredis');
      const pg = await expectStartFailure(
        app,
        'dist/peers.main.js',
        { DATABASE_URL: 'postgres://user:secret@127.0.0.1:5432/agents' },
        'pg',
      );
      return `redisUrl → "${redis}"; postgres:// → "${pg}"`;
    });

    await step('browser bundle', ['install'], async () => {
      const esbuild = require(require.resolve('esbuild', { paths: [ROOT] }));
      fs.copyFileSync(path.join(FIXTURE, 'browser-entry.mjs'), path.join(app, 'browser-entry.mjs'));
      let result;
      try {
        result = await esbuild.build({
          absWorkingDir: app,
          entryPoints: ['browser-entry.mjs'],
          outfile: 'browser-bundle.js',
          bundle: true,
          platform: 'browser',
          format: 'esm',
          target: 'es2020',
          write: false,
          metafile: true,
          logLevel: 'silent',
        });
      } catch (err) {
        const messages = (err.errors ?? []).map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`);
        throw new Error(`esbuild failed to bundle @agent-pipeline/client for browsers:\n  ${messages.join('\n  ') || err.message}`, {
          cause: err,
        });
      }
      const describe = (m) =>
        `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text} ${(m.notes ?? []).map((n) => n.text).join(' ')}`;
      const nodeWarnings = result.warnings.filter((w) => /node:|built-in|Node\.js|platform/i.test(describe(w)));
      assert(nodeWarnings.length === 0, `esbuild warns about Node built-ins:\n  ${nodeWarnings.map(describe).join('\n  ')}`);
      for (const w of result.warnings) note(`esbuild warning: ${describe(w)}`);
      const inputs = Object.keys(result.metafile.inputs);
      const nodeOnly = inputs.filter((i) => BUILTINS.has(i) || /node_modules\/(ws|xmlhttprequest-ssl|bufferutil|utf-8-validate)\//.test(i));
      assert(nodeOnly.length === 0, `the browser bundle pulls in Node-only modules: ${nodeOnly.join(', ')}`);
      for (const p of ['client', 'protocol']) {
        assert(
          inputs.some((i) => i.endsWith(`node_modules/@agent-pipeline/${p}/dist/index.mjs`)),
          `the bundle does not use @agent-pipeline/${p}'s ES module build (inputs: ${inputs.filter((i) => i.includes('@agent-pipeline')).join(', ')})`,
        );
      }
      const disabled = inputs.filter((i) => i.startsWith('(disabled):'));
      if (disabled.length > 0) note(`browser bundle: disabled by 'browser' fields: ${disabled.join(', ')}`);
      const js = result.outputFiles[0].text;
      assert(!/\brequire\(\s*["']/.test(js), 'the browser bundle still calls require()');
      assert(!/from\s*["']node:|import\(\s*["']node:/.test(js), 'the browser bundle imports node: modules');
      fs.writeFileSync(path.join(app, 'browser-bundle.js'), js);
      return `${inputs.length} inputs, ${(Buffer.byteLength(js) / 1024).toFixed(0)} KiB, no Node built-ins`;
    });
  } catch (err) {
    if (!(err instanceof StepFailed)) {
      results.push({ name: 'test-packages', status: 'FAILED', ms: 0, detail: firstLines(err.message) });
      console.log(`✘ ${err.stack ?? err}`);
    }
  } finally {
    if (consumer && consumer.exited === null) {
      consumer.child.kill('SIGKILL');
      await consumer.exit;
    }
    if (consumer && results.some((r) => r.status === 'FAILED')) {
      fs.writeFileSync(path.join(app, 'consumer.log'), stripAnsi(consumer.output));
      console.log(`\nThe consumer's log (last 30 lines; all of it in app/consumer.log with --keep):\n${tail(consumer.output, 30)}`);
    }
    cleanup();
  }

  const total = performance.now() - t0;
  const failed = results.filter((r) => r.status === 'FAILED');
  const width = Math.max(...results.map((r) => r.name.length));
  console.log('\nSummary');
  for (const r of results) console.log(`  ${r.status.padEnd(7)} ${r.name.padEnd(width)} ${seconds(r.ms).padStart(7)}  ${r.detail}`);
  if (notes.length > 0) console.log(`  notes: ${notes.length} (see above)`);
  console.log(`  total ${seconds(total)}: ${failed.length === 0 ? 'all steps passed' : `${failed.length} step(s) failed`}`);
  process.exitCode = failed.length === 0 && results.every((r) => r.status !== 'skipped') ? 0 : 1;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

module.exports = { checkTarball };
