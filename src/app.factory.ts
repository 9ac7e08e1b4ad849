import { Logger, ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule, type EnvironmentOverrides } from './app.module';
import { AppConfig } from './config/app.config';
import { REDIS_CLIENT, validationFailed } from './pipeline';
import { redisStreamsAdapter } from './transport/socket/redis-streams.adapter';
import { AgentsSocketAdapter } from './transport/socket/agents-socket.adapter';
import { setupOpenApi } from './transport/http/openapi.setup';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Variables that take precedence over `process.env`. */
  env?: EnvironmentOverrides;
  /** Nest logger setting; `false` silences Nest (tests). Otherwise Nest logs through pino as JSON lines at LOG_LEVEL. */
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
}

/**
 * Builds the application (not yet listening): Socket.IO adapter, body limits, CORS. `main.ts`
 * and the end-to-end tests share it, so tests run the same server users deploy.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options.env), {
    bodyParser: false,
    logger: options.logger,
    // Start-up lines wait for pino, so every line of a normal start is JSON.
    bufferLogs: options.logger !== false,
    abortOnError: false,
  });
  if (options.logger !== false) app.useLogger(app.get(PinoLogger));
  const config = app.get(AppConfig);
  // Bodies bigger than the largest allowed input (plus room for the other fields) are refused with 413.
  app.useBodyParser('json', { limit: config.maxInputBytes + 16 * 1024 });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      transform: true,
      forbidUnknownValues: true,
      exceptionFactory: (errors) => validationFailed(errors, 'request'),
    }),
  );
  setupOpenApi(app);
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins, credentials: true });
  const redis = app.get(REDIS_CLIENT, { strict: false });
  app.useWebSocketAdapter(new AgentsSocketAdapter(app, config, redis ? redisStreamsAdapter(redis) : undefined));
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
