import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from '../../auth/auth.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { AgentsController } from './agents.controller';
import { HealthController } from './health.controller';
import { HttpErrorFilter } from './http-error.filter';
import { MetricsController } from './metrics.controller';
import { RunsController } from './runs.controller';
import { RunEventFollower } from './sse/run-event.follower';
import { RunSsePump } from './sse/run-sse.pump';
import { RunStreamController } from './sse/run-stream.controller';

/**
 * The HTTP transport: runs over REST and SSE, agents, health, metrics; every error through one filter.
 * Exports the run follower and the SSE pump, which every agent UI protocol streams runs through.
 */
@Module({
  imports: [AuthModule, ObservabilityModule],
  controllers: [RunsController, RunStreamController, AgentsController, HealthController, MetricsController],
  providers: [RunEventFollower, RunSsePump, { provide: APP_FILTER, useClass: HttpErrorFilter }],
  exports: [RunEventFollower, RunSsePump],
})
export class HttpTransportModule {}
