import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { forceCloseConnection, type EngineConnection } from './engine-connection';
import { EventPublisher } from './event-publisher';

/**
 * Publishes events to Socket.IO rooms. The gateway attaches its namespace once it is created;
 * before that (or without a gateway, as in DI tests) events reach only the store and local listeners.
 */
@Injectable()
export class SocketRoomPublisher extends EventPublisher {
  private readonly logger = new Logger(SocketRoomPublisher.name);
  private namespace?: Namespace;

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  /** Sockets connected to this node's namespace (0 before the gateway attaches it). */
  get connectedSockets(): number {
    return this.namespace?.sockets.size ?? 0;
  }

  publish(room: string, event: AgentEventEnvelope): void {
    if (!this.namespace) return;
    try {
      this.namespace.to(room).emit(event.type, event);
    } catch (err) {
      this.logger.error(`Could not publish ${event.type} of run ${event.runId}: ${(err as Error).message}`);
    }
  }

  /**
   * Closes every connection of the namespace once the packets queued for it are written out.
   * Socket.IO's own `close()` discards queued packets, which at shutdown would drop the terminal
   * events of the runs that ended last; clients still see a transport close and reconnect.
   */
  override async drainAndClose(timeoutMs: number): Promise<void> {
    const connections = this.namespace ? [...this.namespace.sockets.values()].map((s) => s.conn as unknown as EngineConnection) : [];
    // Kept apart: a closed connection lets go of its transport, whose websocket may still be in its close handshake.
    const transports = connections.map((conn) => conn.transport);
    const closed = connections.map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.readyState === 'closed') return resolve();
          conn.once('close', () => resolve());
          conn.close();
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(closed), timeout]);
    clearTimeout(timer);
    // A client that stopped reading never drains nor answers the websocket close handshake: cut
    // it now, or the HTTP server would wait up to 30 s for it.
    for (const conn of connections) if (conn.readyState !== 'closed') forceCloseConnection(conn);
    for (const transport of transports) if (transport?.name === 'websocket') transport.socket?.terminate?.();
  }
}
