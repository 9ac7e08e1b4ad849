import { DynamicModule, Module } from '@nestjs/common';
import { AgentsGateway } from './agents.gateway';
import { SlowConsumerGuard } from './backpressure/slow-consumer.guard';
import { SocketReplayWriter } from './backpressure/socket-replay.writer';
import { SessionExpiryWatcher } from './connections/session-expiry.watcher';
import { SocketConnectionLimiter } from './connections/socket-connection.limiter';
import { SOCKET_NAMESPACE, SocketServerSetup } from './socket-server.setup';

/** The Socket.IO transport: the gateway, its connection limits, its backpressure and its server. */
@Module({})
export class SocketTransportModule {
  /** @param namespace Where the gateway listens (`socket.namespace`). */
  static register(namespace: string): DynamicModule {
    return {
      module: SocketTransportModule,
      providers: [
        { provide: SOCKET_NAMESPACE, useValue: namespace },
        SocketServerSetup,
        AgentsGateway,
        SocketConnectionLimiter,
        SessionExpiryWatcher,
        SlowConsumerGuard,
        SocketReplayWriter,
      ],
    };
  }
}
