import { Inject, Injectable, Optional } from '@nestjs/common';
import type Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { REDIS_CLIENT } from '../cluster/redis-client.provider';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';

/**
 * Per-user limit on starting runs (`RATE_LIMIT_RUNS_PER_MINUTE`), over all of a user's sockets and
 * HTTP calls. In memory on one node; in Redis when nodes share one, so the limit holds across
 * nodes (falling back to a per-node limit while Redis is unreachable).
 */
@Injectable()
export class RunRateLimiter {
  private limiter?: RateLimiterAbstract;

  /** @internal Made by Nest's DI; left out of the package's types, which then need no `ioredis`. */
  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    @Optional() @Inject(REDIS_CLIENT) redis?: Redis | null,
  ) {
    const points = options.rateLimitRunsPerMinute;
    if (points <= 0) return;
    const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: 'agent-pipeline:runs' });
    this.limiter = redis
      ? new RateLimiterRedis({ storeClient: redis, points, duration: 60, keyPrefix: 'agent-pipeline:runs', insuranceLimiter: memory })
      : memory;
  }

  /** Counts one run start for the user, or throws `RATE_LIMITED` with the seconds to wait. */
  async consume(userId: string): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(userId, 1);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const retryAfterSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw new PipelineError(
        'RATE_LIMITED',
        `Too many runs started: the limit is ${this.options.rateLimitRunsPerMinute} per minute. Retry in ${retryAfterSeconds} s.`,
        { limitPerMinute: this.options.rateLimitRunsPerMinute, retryAfterSeconds },
        retryAfterSeconds,
      );
    }
  }
}
