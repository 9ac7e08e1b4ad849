import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { PIPELINE_OPTIONS } from '../../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../../pipeline.options';
import { AgentPipelineMetrics } from '../../../observability/metrics/agent-pipeline.metrics';
import { engineConnection, forceCloseConnection } from '../../../emitter/engine-connection';
import { packetSize, pendingOutgoingBytes, transportBufferedBytes } from './outgoing-bytes';

/** How often a writer waiting for a socket to drain looks again. */
const DRAIN_POLL_MS = 10;

/**
 * Disconnects a socket whose unsent outgoing data passes `SOCKET_MAX_BUFFERED_BYTES` (a client
 * that stopped reading), the way Centrifugo and NATS treat slow consumers: the socket goes, its
 * buffers are freed at once, its runs go on, and its client catches up from the store after it
 * reconnects. Nobody else waits for it: every socket has its own buffers.
 *
 * The check runs on every packet queued for the socket and costs two additions: Engine.IO's
 * write buffer is counted as packets enter it (and reset when it is handed to the transport),
 * and the websocket's own buffered amount is one property read.
 */
@Injectable()
export class SlowConsumerGuard {
  private readonly logger = new Logger(SlowConsumerGuard.name);
  private readonly limit: number;

  constructor(
    @Inject(PIPELINE_OPTIONS) config: ResolvedPipelineOptions,
    private readonly metrics: AgentPipelineMetrics,
  ) {
    this.limit = config.socketMaxBufferedBytes;
  }

  /** The bound, in bytes. */
  get maxBufferedBytes(): number {
    return this.limit;
  }

  /** Watches a connected socket until it disconnects. */
  watch(socket: Socket, userId: string): void {
    const conn = engineConnection(socket);
    let queued = 0;
    let dropped = false;
    conn.on('packetCreate', (packet) => {
      queued += packetSize(packet);
      if (dropped || queued + transportBufferedBytes(conn) <= this.limit) return;
      dropped = true;
      this.drop(socket, userId, queued + transportBufferedBytes(conn));
    });
    // The whole write buffer goes to the transport at once; from then on it is the transport's.
    conn.on('flush', () => {
      queued = 0;
    });
  }

  /**
   * Resolves once at most `lowWaterBytes` are pending for the socket (or it disconnected), so a
   * large write (a replay) goes out at the pace the client reads and never trips the limit.
   * @returns false when the socket is gone.
   */
  async waitForRoom(socket: Socket, lowWaterBytes: number): Promise<boolean> {
    while (socket.connected && pendingOutgoingBytes(socket) > lowWaterBytes) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return socket.connected;
  }

  private drop(socket: Socket, userId: string, pendingBytes: number): void {
    this.metrics.socketDisconnected('slow_consumer');
    this.logger.warn({
      msg: `Disconnected a slow consumer: socket ${socket.id} of user ${userId} had ${pendingBytes} bytes unsent (limit ${this.limit}, SOCKET_MAX_BUFFERED_BYTES). Its runs go on; it catches up when it reconnects.`,
      userId,
      socketId: socket.id,
      pendingBytes,
    });
    forceCloseConnection(engineConnection(socket));
  }
}
