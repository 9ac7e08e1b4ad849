import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { PipelineError } from '../errors/pipeline.error';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';

/**
 * Per-user limit on starting runs (`RATE_LIMIT_RUNS_PER_MINUTE`), over all of a user's sockets and
 * HTTP calls. In memory on one node; `useLimiter` swaps in a shared (Redis) limiter for scale-out.
 */
@Injectable()
export class RunRateLimiter {
  private limiter?: RateLimiterAbstract;

  constructor(@Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions) {
    if (options.rateLimitRunsPerMinute > 0) {
      this.limiter = new RateLimiterMemory({ points: options.rateLimitRunsPerMinute, duration: 60, keyPrefix: 'runs' });
    }
  }

  /** Replaces the limiter (for example with a `RateLimiterRedis` shared by every node). */
  useLimiter(limiter: RateLimiterAbstract): void {
    if (this.options.rateLimitRunsPerMinute > 0) this.limiter = limiter;
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
