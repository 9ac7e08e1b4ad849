#!/usr/bin/env node
// Builds the ES module entry (dist/index.mjs) of a browser-safe package (protocol, client), run from
// the package's folder after tsc has written the CommonJS build and the types. One bundled file,
// so that Node's ES module loader needs no file extensions; dependencies stay imports.
const { buildSync } = require('esbuild');
const { join } = require('node:path');

const dir = process.cwd();
const pkg = require(join(dir, 'package.json'));
buildSync({
  entryPoints: [join(dir, 'src/index.ts')],
  outfile: join(dir, 'dist/index.mjs'),
  bundle: true,
  format: 'esm',
  // Neutral: no Node built-ins may be pulled in, so the same file works in browsers and Node.
  platform: 'neutral',
  target: 'es2022',
  external: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})],
  sourcemap: true,
  logLevel: 'warning',
});
