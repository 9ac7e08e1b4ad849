import { Module, RequestMethod } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app.config';
import { AuthModule } from '../auth/auth.module';
import { HealthIndicatorRegistry } from './health/health-indicator.registry';
import { JwksHealthIndicator } from './health/jwks.health';
import { RedisHealthIndicator } from './health/redis.health';
import { RunStoreHealthIndicator } from './health/run-store.health';
import { pinoHttpOptions } from './logging/pino-http.options';
import { RunLogObserver } from './logging/run-log.observer';
import { MetricsService } from './metrics/metrics.service';

/**
 * Logs, metrics and health of the server: structured JSON logs (nestjs-pino) at `LOG_LEVEL`,
 * Prometheus metrics of runs, events and sockets, and the health checks of its dependencies
 * (store, Redis, the identity provider's key set).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: pinoHttpOptions(config.logLevel),
        // Nest 11 route syntax for "every path" (nestjs-pino's default '*' draws a deprecation warning).
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
      }),
    }),
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
    AuthModule,
  ],
  providers: [
    MetricsService,
    RunLogObserver,
    HealthIndicatorRegistry,
    RunStoreHealthIndicator,
    RedisHealthIndicator,
    JwksHealthIndicator,
  ],
  exports: [MetricsService, HealthIndicatorRegistry, TerminusModule],
})
export class ObservabilityModule {}
