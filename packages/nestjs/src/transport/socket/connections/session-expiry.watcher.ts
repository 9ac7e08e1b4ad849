import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { TokenService } from '../../../auth/token.service';
import { AgentPipelineMetrics } from '../../../observability/metrics/agent-pipeline.metrics';
import type { ConnectionEventType } from '@agent-pipeline/protocol';

/** The event a socket gets when its token expires, just before it is disconnected (DESIGN.md). */
export const SESSION_EXPIRED: ConnectionEventType = 'session_expired';

/** Longest delay a Node timer takes; later expiries are looked at again then. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Closes a socket when its token expires: it emits `session_expired` `{}` to it and disconnects
 * it, so a token's `exp` means the same on a long-lived socket as on an HTTP call. The client
 * reconnects with a fresh token. One timer per socket, cleared when it disconnects.
 *
 * The deadline is `exp` plus `JWT_CLOCK_TOLERANCE_S`, the same leeway the handshake grants: a
 * token the handshake still accepts is never cut at once (which would make a client that
 * reconnects with it loop).
 */
@Injectable()
export class SessionExpiryWatcher {
  private readonly logger = new Logger(SessionExpiryWatcher.name);
  private readonly toleranceMs: number;

  constructor(
    tokens: TokenService,
    private readonly metrics: AgentPipelineMetrics,
  ) {
    this.toleranceMs = tokens.clockToleranceS * 1000;
  }

  /** Watches a connected socket whose token expires at `expiresAt` (ms since the epoch); none = never. */
  watch(socket: Socket, userId: string, expiresAt: number | undefined): void {
    if (expiresAt === undefined) return;
    const deadline = expiresAt + this.toleranceMs;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const left = deadline - Date.now();
      if (left > MAX_TIMER_MS) {
        timer = setTimeout(arm, MAX_TIMER_MS);
        return;
      }
      timer = setTimeout(() => this.expire(socket, userId), Math.max(0, left));
    };
    arm();
    socket.once('disconnect', () => clearTimeout(timer));
  }

  private expire(socket: Socket, userId: string): void {
    if (!socket.connected) return;
    this.metrics.socketDisconnected('session_expired');
    this.logger.debug({ msg: `Token of socket ${socket.id} (user ${userId}) expired: disconnected.`, userId, socketId: socket.id });
    socket.emit(SESSION_EXPIRED, {});
    // Not discarded: session_expired is written out before the connection closes.
    socket.disconnect(true);
  }
}
