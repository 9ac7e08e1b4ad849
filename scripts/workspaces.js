'use strict';
/**
 * The packages of this repository, read from the root package.json's `workspaces` (in build order:
 * each builds on the ones before it), and their CommonJS build. Shared by the test setup, the
 * bench and the packed-install test, so a new package needs no list updated by hand.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** The folder names under packages/, in build order: ['protocol', 'client', …]. */
const WORKSPACES = require(path.join(ROOT, 'package.json')).workspaces.map((dir) => path.basename(dir));

/**
 * Compiles every package with its tsconfig.build.json (tsc only: no ES module bundle, no clean),
 * which is what the server's dist/ needs at run time. Throws the compiler's output on failure.
 *
 * @param {{ onPackage?: (name: string) => void }} [options]
 */
function compileWorkspaces({ onPackage } = {}) {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  for (const name of WORKSPACES) {
    onPackage?.(name);
    try {
      execFileSync(process.execPath, [tsc, '-p', path.join('packages', name, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'pipe' });
    } catch (err) {
      throw new Error(`@agent-pipeline/${name} does not build (tsc):\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: err });
    }
  }
}

module.exports = { ROOT, WORKSPACES, compileWorkspaces };
