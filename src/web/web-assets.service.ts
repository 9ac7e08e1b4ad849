import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The build script, which also bundles in memory (one place for the esbuild options). */
const BUILD_SCRIPT = resolve(__dirname, '..', '..', 'scripts', 'build-web.js');

interface WebBuildScript {
  bundleWebApp(): Promise<string>;
}

/**
 * The chat page's files: `index.html` and the `app.js` bundle that `npm run build` writes next to
 * this file in `dist/web/`. Running from the TypeScript sources (tests, `nest start`), there is no
 * bundle: it is built once, in memory, with esbuild on the first request.
 */
@Injectable()
export class WebAssets {
  private readonly logger = new Logger(WebAssets.name);
  private page?: Promise<string>;
  private script?: Promise<string>;

  /** The page's HTML. */
  html(): Promise<string> {
    this.page ??= readFile(join(__dirname, 'index.html'), 'utf8').catch((err: Error) => {
      this.page = undefined;
      throw new ServiceUnavailableException(`The chat page is missing (${err.message}). Run 'npm run build', which copies it to dist/web/.`);
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
    if (existsSync(built)) return readFile(built, 'utf8');
    const started = Date.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { bundleWebApp } = require(BUILD_SCRIPT) as WebBuildScript;
    const code = await bundleWebApp();
    this.logger.log(`Built the chat page's script on demand in ${Date.now() - started} ms (no ${built}).`);
    return code;
  }
}
