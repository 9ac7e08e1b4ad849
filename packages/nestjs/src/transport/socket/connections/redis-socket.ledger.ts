import type Redis from 'ioredis';

/**
 * Takes a slot atomically: drops entries whose node stopped renewing them, then adds this socket
 * unless the user already holds `max`. KEYS[1] the user's set; ARGV now, expiry, member, max, ttl.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/** A socket held by this node. */
export interface HeldSocket {
  userId: string;
  socketId: string;
}

/**
 * The sockets of every user across nodes, in Redis: one sorted set per user whose members are
 * `<node>:<socket>` and whose scores are the time each entry expires. Nodes renew their own
 * entries; the entries of a node that died expire on their own, so no count stays stuck.
 */
export class RedisSocketLedger {
  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    /** How long an entry lives without renewal. */
    private readonly ttlMs: number,
  ) {
    this.redis.defineCommand('agentPipelineAcquireSocket', { numberOfKeys: 1, lua: ACQUIRE });
  }

  /** True when the socket got a slot; false when the user already holds `max` sockets. */
  async acquire(userId: string, socketId: string, max: number): Promise<boolean> {
    const now = Date.now();
    const acquire = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>).agentPipelineAcquireSocket;
    const taken = await acquire.call(this.redis, this.key(userId), now, now + this.ttlMs, this.member(socketId), max, this.ttlMs);
    return taken === 1;
  }

  async release(userId: string, socketId: string): Promise<void> {
    await this.redis.zrem(this.key(userId), this.member(socketId));
  }

  /** Renews this node's entries (re-adding any that expired while Redis was unreachable). */
  async renew(sockets: Iterable<HeldSocket>): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    const pipeline = this.redis.pipeline();
    let count = 0;
    for (const { userId, socketId } of sockets) {
      const key = this.key(userId);
      pipeline.zadd(key, expiresAt, this.member(socketId));
      pipeline.pexpire(key, this.ttlMs);
      count++;
    }
    if (count > 0) await pipeline.exec();
  }

  private key(userId: string): string {
    return `agent-pipeline:sockets:${userId}`;
  }

  private member(socketId: string): string {
    return `${this.nodeId}:${socketId}`;
  }
}
