#!/usr/bin/env node
'use strict';
/**
 * Builds the chat page (`GET /`): bundles src/web/chat.page.ts with the client and socket.io-client
 * into one browser script, dist/web/app.js, and copies src/web/index.html next to it.
 * `npm run build` runs it after tsc; the server builds the same bundle in memory on first request
 * when dist/web/app.js is missing (running from the TypeScript sources, e.g. in tests).
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const WEB_SOURCE_DIR = path.join(ROOT, 'src', 'web');
const WEB_ENTRY = path.join(WEB_SOURCE_DIR, 'chat.page.ts');
const WEB_HTML = path.join(WEB_SOURCE_DIR, 'index.html');
const WEB_OUT_DIR = path.join(ROOT, 'dist', 'web');

/** esbuild options of the page's script (one place for the build script and the server). */
function webBundleOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: [WEB_ENTRY],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  };
}

/** Bundles the page's script in memory and resolves its text. */
async function bundleWebApp() {
  const esbuild = require('esbuild');
  const result = await esbuild.build({ ...webBundleOptions(), write: false });
  return result.outputFiles[0].text;
}

/** Writes app.js and index.html into `outDir` (default dist/web). */
async function buildWeb(outDir = WEB_OUT_DIR) {
  const js = await bundleWebApp();
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'app.js'), js);
  fs.copyFileSync(WEB_HTML, path.join(outDir, 'index.html'));
  return { outDir, bytes: Buffer.byteLength(js) };
}

module.exports = { bundleWebApp, buildWeb, webBundleOptions, WEB_ENTRY, WEB_HTML };

if (require.main === module) {
  buildWeb().then(
    ({ outDir, bytes }) =>
      console.log(`build-web: wrote ${path.relative(ROOT, outDir)}/app.js (${Math.round(bytes / 1024)} KiB) and index.html`),
    (err) => {
      console.error(`build-web: ${err && err.message ? err.message : err}`);
      process.exit(1);
    },
  );
}
