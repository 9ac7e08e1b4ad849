import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TEST_SCHEMA_RUN_VARIABLE } from './shared-services';

const ROOT = resolve(__dirname, '..', '..');
/** When the build that made `dist/` started; sources changed after it make `dist/` stale. */
const STAMP = join(ROOT, 'dist', '.test-build-started');
// A plain script, shared with the bench.
const { WORKSPACES: PACKAGES, compileWorkspaces } = require('../../scripts/workspaces.js') as {
  WORKSPACES: string[];
  compileWorkspaces(): void;
};

/**
 * Jest `globalSetup`: names the run's PostgreSQL schemas (see `global-teardown.ts`) and compiles `dist/` once per test run, so the specs that start the server as
 * its own process (`test/support/server-process.ts`) run the code under test, not a stale build.
 * Skipped when `dist/` was built by this setup after the last change to `src/` (or with `SKIP_BUILD=1`).
 */
export default function globalSetup(): void {
  // The test workers inherit it: their PostgreSQL schemas carry it, and the teardown drops them.
  process.env[TEST_SCHEMA_RUN_VARIABLE] ??= randomBytes(3).toString('hex');
  if (process.env.SKIP_BUILD === '1' || isFresh()) return;
  const started = Date.now();
  try {
    // The server's dist/ runs on the packages' builds (node_modules/@agent-pipeline/* → packages/*/dist).
    compileWorkspaces();
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const { stdout, stderr, message } = err as { stdout?: Buffer; stderr?: Buffer; message?: string };
    const output = stdout || stderr ? `${stdout ?? ''}${stderr ?? ''}` : (message ?? String(err));
    throw new Error(`Building the packages and dist/ for the process tests failed:\n${output}`, { cause: err });
  }
  writeFileSync(STAMP, String(started));
  process.stdout.write(`\nglobalSetup: built dist/ in ${Date.now() - started} ms\n`);
}

function isFresh(): boolean {
  if (!existsSync(STAMP) || !existsSync(join(ROOT, 'dist', 'main.js'))) return false;
  if (PACKAGES.some((pkg) => !existsSync(join(ROOT, 'packages', pkg, 'dist', 'index.js')))) return false;
  const builtFrom = Number(readFileSync(STAMP, 'utf8'));
  const inputs = [
    join(ROOT, 'tsconfig.json'),
    join(ROOT, 'tsconfig.build.json'),
    join(ROOT, 'package-lock.json'),
    ...files(join(ROOT, 'src')),
    ...PACKAGES.flatMap((pkg) => files(join(ROOT, 'packages', pkg, 'src'))),
  ];
  return inputs.every((file) => !existsSync(file) || statSync(file).mtimeMs < builtFrom);
}

/** The files under `dir` that the build compiles (specs are not built). */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith('.spec.ts') ? [] : [path];
  });
}
