import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule, type EnvironmentOverrides, type ModuleImport } from './app.module';
import { AppConfig } from './config/app.config';
import { setupOpenApi } from './http/openapi.setup';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Variables that take precedence over `process.env`. */
  env?: EnvironmentOverrides;
  /** Nest logger setting; `false` silences Nest (tests). Otherwise Nest logs through pino as JSON lines at LOG_LEVEL. */
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
  /** More modules for the app (agents of an embedding app or of a test), beside the demo agents. */
  imports?: ModuleImport[];
}

/**
 * Builds the application (not yet listening): logging, the OpenAPI page, HTTP CORS. Everything
 * else (Socket.IO server, body limits, error bodies) the pipeline module sets up itself. `main.ts`
 * and the end-to-end tests share it, so tests run the same server users deploy.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options.env, options.imports), {
    logger: options.logger,
    // Start-up lines wait for pino, so every line of a normal start is JSON.
    bufferLogs: options.logger !== false,
    abortOnError: false,
  });
  if (options.logger !== false) app.useLogger(app.get(PinoLogger));
  const config = app.get(AppConfig);
  setupOpenApi(app);
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins, credentials: true });
  return app;
}

/** Listens on the configured host and port; resolves the base URL (the real port when `PORT=0`). */
export async function listen(app: INestApplication): Promise<string> {
  const config = app.get(AppConfig);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as { port: number };
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${address.port}`;
  new Logger('Bootstrap').log(`Listening on ${url} (Socket.IO namespace /agents)`);
  if (config.devAuth && !config.hostExplicit) {
    new Logger('Bootstrap').warn(
      `Development auth: listening on ${config.host} only, since anyone can get a token here. Set HOST (e.g. HOST=0.0.0.0) to listen elsewhere, and a JWT setting before you do.`,
    );
  }
  return url;
}
