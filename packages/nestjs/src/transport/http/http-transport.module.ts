import { Module } from '@nestjs/common';
import { AgentsController } from './agents.controller';
import { RunsController } from './runs.controller';
import { RunEventFollower } from './sse/run-event.follower';
import { RunStreamController } from './sse/run-stream.controller';
import { SseFollowStreamer } from './sse/sse-follow.streamer';
import { ThreadsController } from './threads/threads.controller';
import { UsageController } from './usage/usage.controller';

/**
 * The HTTP transport: runs over REST and SSE, threads, agents, usage. Exports the run follower and the
 * SSE streamer, which every agent UI protocol streams runs through.
 */
@Module({
  controllers: [RunsController, ThreadsController, RunStreamController, AgentsController, UsageController],
  providers: [RunEventFollower, SseFollowStreamer],
  exports: [RunEventFollower, SseFollowStreamer],
})
export class HttpTransportModule {}
