import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Socket } from 'socket.io';
import { PIPELINE_OPTIONS } from '../../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../../pipeline.options';
import { withTimeout } from '../../../observability/health/with-timeout';
import { AgentPipelineMetrics } from '../../../observability/metrics/agent-pipeline.metrics';
import { NODE_ID } from '../../../runs/node-id.token';
import { REDIS_CLIENT } from '../../../cluster/redis-client.provider';
import { HeldSocket, RedisSocketLedger } from './redis-socket.ledger';

/** The `connect_error` message of a handshake past the per-user cap (DESIGN.md). */
export const TOO_MANY_CONNECTIONS = 'too_many_connections';

/** Longest wait for Redis before a handshake is counted on this node alone. */
const REDIS_TIMEOUT_MS = 1000;

/**
 * `MAX_SOCKETS_PER_USER`: one more socket of a user who holds that many is refused with
 * `connect_error` `too_many_connections`. On one node the count is this node's sockets; with
 * Redis it is every node's, kept in a {@link RedisSocketLedger} that forgets the sockets of a
 * node that died within `RUN_LEASE_MS`. While Redis is unreachable each node counts its own
 * sockets, so users are never locked out by an outage.
 */
@Injectable()
export class SocketConnectionLimiter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SocketConnectionLimiter.name);
  /** This node's sockets, per user. */
  private readonly local = new Map<string, Set<string>>();
  private readonly ledger?: RedisSocketLedger;
  private renewTimer?: NodeJS.Timeout;
  private redisFailing = false;

  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly config: ResolvedPipelineOptions,
    private readonly metrics: AgentPipelineMetrics,
    @Inject(NODE_ID) nodeId: string,
    @Optional() @Inject(REDIS_CLIENT) redis?: Redis | null,
  ) {
    if (redis) this.ledger = new RedisSocketLedger(redis, nodeId, config.runLeaseMs);
  }

  onModuleInit(): void {
    if (!this.ledger) return;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.config.runLeaseMs / 3)));
    this.renewTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.renewTimer);
  }

  /** Sockets of `userId` connected to this node. */
  localCount(userId: string): number {
    return this.local.get(userId)?.size ?? 0;
  }

  /**
   * Socket.IO middleware, after authentication: takes a slot for the socket or refuses it. The
   * slot is given back when the socket disconnects, or when its connection closes before the
   * socket ever connected (a client gone during the handshake).
   */
  middleware() {
    return (socket: Socket, next: (err?: Error) => void): void => {
      const userId = (socket.data as { userId: string }).userId;
      this.acquire(userId, socket.id).then(
        (taken) => {
          if (!taken) {
            this.metrics.socketRefused('too_many_connections');
            this.logger.warn({
              msg: `Refused a socket of user ${userId}: ${this.config.maxSocketsPerUser} already connected (MAX_SOCKETS_PER_USER).`,
              userId,
            });
            return next(new Error(TOO_MANY_CONNECTIONS));
          }
          let released = false;
          const release = () => {
            if (released) return;
            released = true;
            this.release(userId, socket.id);
          };
          socket.once('disconnect', release);
          socket.conn.once('close', release);
          next();
        },
        (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
      );
    };
  }

  private async acquire(userId: string, socketId: string): Promise<boolean> {
    const max = this.config.maxSocketsPerUser;
    // Checked and taken locally first, synchronously: two handshakes of one user on this node cannot both take the last slot.
    const mine = this.local.get(userId) ?? new Set<string>();
    if (mine.size >= max) return false;
    mine.add(socketId);
    this.local.set(userId, mine);
    if (!this.ledger) return true;
    try {
      const taken = await withTimeout(this.ledger.acquire(userId, socketId, max), REDIS_TIMEOUT_MS);
      this.redisRecovered();
      if (!taken) this.forget(userId, socketId);
      return taken;
    } catch (err) {
      this.redisFailed(err);
      return true;
    }
  }

  private release(userId: string, socketId: string): void {
    this.forget(userId, socketId);
    this.ledger?.release(userId, socketId).catch((err: unknown) => this.redisFailed(err));
  }

  private forget(userId: string, socketId: string): void {
    const mine = this.local.get(userId);
    mine?.delete(socketId);
    if (mine && mine.size === 0) this.local.delete(userId);
  }

  private async renew(): Promise<void> {
    if (!this.ledger || this.local.size === 0) return;
    try {
      await this.ledger.renew(this.held());
      this.redisRecovered();
    } catch (err) {
      this.redisFailed(err);
    }
  }

  private *held(): Iterable<HeldSocket> {
    for (const [userId, sockets] of this.local) for (const socketId of sockets) yield { userId, socketId };
  }

  private redisFailed(err: unknown): void {
    if (this.redisFailing) return;
    this.redisFailing = true;
    this.logger.warn(
      `Socket counts across nodes are unavailable (${(err as Error)?.message ?? err}); counting this node's sockets only until Redis answers.`,
    );
  }

  private redisRecovered(): void {
    this.redisFailing = false;
  }
}
