import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { ObservabilityModule } from '../../observability/observability.module';
import { AgentsGateway } from './agents.gateway';
import { SlowConsumerGuard } from './backpressure/slow-consumer.guard';
import { SocketReplayWriter } from './backpressure/socket-replay.writer';
import { SessionExpiryWatcher } from './connections/session-expiry.watcher';
import { SocketConnectionLimiter } from './connections/socket-connection.limiter';

/** The Socket.IO transport: namespace `/agents`, its connection limits and its backpressure. */
@Module({
  imports: [AuthModule, ObservabilityModule],
  providers: [AgentsGateway, SocketConnectionLimiter, SessionExpiryWatcher, SlowConsumerGuard, SocketReplayWriter],
})
export class SocketTransportModule {}
