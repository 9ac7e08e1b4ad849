import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../../pipeline';
import { HealthIndicatorRegistry } from './health-indicator.registry';
import { withTimeout } from './with-timeout';

/** How long Redis may take to answer a PING before it counts as down. */
export const REDIS_PING_TIMEOUT_MS = 1000;

/** Reports Redis as `redis` when the node runs with `REDIS_URL`; absent otherwise. */
@Injectable()
export class RedisHealthIndicator implements OnModuleInit {
  constructor(
    @Optional() @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthIndicatorRegistry,
  ) {}

  onModuleInit(): void {
    if (this.redis) this.registry.register('redis', () => this.isHealthy('redis'));
  }

  async isHealthy<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const check = this.indicators.check(key);
    const redis = this.redis!;
    // Not connected: answer at once instead of queueing a PING behind the reconnect.
    if (redis.status !== 'ready') return check.down({ message: `Redis is ${redis.status}.` });
    try {
      await withTimeout(redis.ping(), REDIS_PING_TIMEOUT_MS);
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error)?.message ?? 'Redis does not answer.' });
    }
  }
}
