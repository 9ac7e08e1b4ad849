import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Jest `globalSetup`: compiles `dist/` once per test run, so the specs that start the server as
 * its own process (`test/support/server-process.ts`) run the code under test, not a stale build.
 * `SKIP_BUILD=1` skips it (when `dist/` was just built).
 */
export default function globalSetup(): void {
  if (process.env.SKIP_BUILD === '1') return;
  const root = resolve(__dirname, '..', '..');
  const started = Date.now();
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`Building dist/ for the process tests failed (tsc -p tsconfig.build.json):\n${stdout ?? ''}${stderr ?? ''}`);
  }
  process.stdout.write(`\nglobalSetup: built dist/ in ${Date.now() - started} ms\n`);
}
