import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { HealthController } from '../http/health.controller';
import { MetricsController } from '../http/metrics.controller';
import { HttpLoggingModule } from './logging/http-logging.module';
import { HttpRequestLogger } from './logging/http-request.logger';
import { RunLogObserver } from './logging/run-log.observer';

/**
 * Logs, metrics and health of the server: structured JSON logs (nestjs-pino) at `LOG_LEVEL`, a
 * line per run, `GET /metrics` from the pipeline's Prometheus registry, and `GET /health` from
 * the pipeline's health indicator (store, Redis, the identity provider's key set).
 */
@Module({
  imports: [
    HttpLoggingModule,
    // Nest's log lines through the request logger's pino; nestjs-pino's own middleware (which
    // runs each request inside AsyncLocalStorage) on no route: see HttpRequestLogger.
    LoggerModule.forRootAsync({
      imports: [HttpLoggingModule],
      inject: [HttpRequestLogger],
      useFactory: (http: HttpRequestLogger) => ({ pinoHttp: { logger: http.logger }, forRoutes: [] }),
    }),
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [RunLogObserver],
})
export class ObservabilityModule implements NestModule {
  constructor(private readonly http: HttpRequestLogger) {}

  configure(consumer: MiddlewareConsumer): void {
    // Nest 11 route syntax for "every path".
    consumer.apply(this.http.middleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
