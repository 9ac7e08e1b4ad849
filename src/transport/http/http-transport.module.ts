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
import { RunStreamController } from './sse/run-stream.controller';
import { SseFollowStreamer } from './sse/sse-follow.streamer';
import { ThreadsController } from './threads/threads.controller';

/**
 * The HTTP transport: runs over REST and SSE, threads, agents, health, metrics; every error through one filter.
 * Exports the run follower and the SSE streamer, which every agent UI protocol streams runs through.
 */
@Module({
  imports: [AuthModule, ObservabilityModule],
  controllers: [RunsController, ThreadsController, RunStreamController, AgentsController, HealthController, MetricsController],
  providers: [RunEventFollower, SseFollowStreamer, { provide: APP_FILTER, useClass: HttpErrorFilter }],
  // Every view of a run (AG-UI, AI SDK) follows and streams it through these.
  exports: [RunEventFollower, SseFollowStreamer],
})
export class HttpTransportModule {}
