import { Module, RequestMethod } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app.config';
import { HealthController } from '../http/health.controller';
import { MetricsController } from '../http/metrics.controller';
import { pinoHttpOptions } from './logging/pino-http.options';
import { RunLogObserver } from './logging/run-log.observer';

/**
 * Logs, metrics and health of the server: structured JSON logs (nestjs-pino) at `LOG_LEVEL`, a
 * line per run, `GET /metrics` from the pipeline's Prometheus registry, and `GET /health` from
 * the pipeline's health indicator (store, Redis, the identity provider's key set).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: pinoHttpOptions(config.logLevel, { traced: config.tracing !== undefined }),
        // Nest 11 route syntax for "every path" (nestjs-pino's default '*' draws a deprecation warning).
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
      }),
    }),
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [RunLogObserver],
})
export class ObservabilityModule {}
