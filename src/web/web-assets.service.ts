import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
/** The build script, which also bundles in memory (one place for the esbuild options). */
const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-web.js');
/** The page's sources, present in a checkout (not necessarily in a deployment). */
const SOURCE_HTML = join(ROOT, 'src', 'web', 'index.html');
const SOURCE_DIRS = ['src/web', 'packages/client/src', 'packages/protocol/src'].map((d) => join(ROOT, d));

interface WebBuildScript {
  bundleWebApp(): Promise<string>;
}

/**
 * The chat page's files: `index.html` and the `app.js` bundle that `npm run build` writes next to
 * this file in `dist/web/`. Without a bundle (running from the TypeScript sources: tests,
 * `nest start`), or with one older than the sources of a checkout, the bundle is built once, in
 * memory, with esbuild on the first request.
 */
@Injectable()
export class WebAssets {
  private readonly logger = new Logger(WebAssets.name);
  private page?: Promise<string>;
  private script?: Promise<string>;

  /** The page's HTML. */
  html(): Promise<string> {
    const built = join(__dirname, 'index.html');
    const file = existsSync(built) && !olderThan(built, [SOURCE_HTML]) ? built : SOURCE_HTML;
    this.page ??= readFile(file, 'utf8').catch((err: Error) => {
      this.page = undefined;
      throw new ServiceUnavailableException(
        `The chat page is missing (${err.message}). Run 'npm run build', which copies it to dist/web/.`,
      );
    });
    return this.page;
  }

  /** The page's script bundle (client + socket.io-client + UI). */
  bundle(): Promise<string> {
    this.script ??= this.loadBundle().catch((err: Error) => {
      this.script = undefined;
      throw new ServiceUnavailableException(
        `The chat page's script is not built and could not be built on demand (${err.message}). Run 'npm run build' (or 'npm run build:web').`,
      );
    });
    return this.script;
  }

  private async loadBundle(): Promise<string> {
    const built = join(__dirname, 'app.js');
    const sources = SOURCE_DIRS.flatMap(typeScriptFiles);
    if (existsSync(built) && !olderThan(built, sources)) return readFile(built, 'utf8');
    const started = Date.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { bundleWebApp } = require(BUILD_SCRIPT) as WebBuildScript;
    const code = await bundleWebApp();
    const why = existsSync(built) ? `${built} is older than its sources` : `there is no ${built}`;
    this.logger.log(`Built the chat page's script on demand in ${Date.now() - started} ms (${why}).`);
    return code;
  }
}

/** Whether `file` is older than any of `sources` that exist. */
function olderThan(file: string, sources: string[]): boolean {
  const built = statSync(file).mtimeMs;
  return sources.some((source) => existsSync(source) && statSync(source).mtimeMs > built);
}

function typeScriptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => join(dir, f));
}
