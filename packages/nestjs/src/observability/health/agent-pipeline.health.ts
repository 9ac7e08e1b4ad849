import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { TokenService } from '../../auth/token.service';
import { REDIS_CLIENT } from '../../cluster/redis-client.provider';
import { RUN_STORE } from '../../pipeline.tokens';
import type { RunStore } from '../../store/run-store.interface';
import { withTimeout } from './with-timeout';

/** How long the store may take to answer a ping before it counts as down. */
export const RUN_STORE_PING_TIMEOUT_MS = 2000;
/** How long Redis may take to answer a PING before it counts as down. */
export const REDIS_PING_TIMEOUT_MS = 1000;

/** One dependency's state, in `@nestjs/terminus`'s shape. */
export interface PipelineHealthEntry {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

/** Every dependency of the pipeline, by name: `store`; `redis` with `redisUrl`; `jwks` with `auth.jwksUrl`. */
export type PipelineHealthResult = Record<string, PipelineHealthEntry>;

/**
 * The health of the pipeline's dependencies, for `@nestjs/terminus` (or any health route):
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.pipeline.isHealthy()]); }
 * ```
 *
 * `store` is up when the run store answers a ping within 2 s; `redis` (with `redisUrl`) when Redis
 * answers a PING within 1 s; `jwks` (with `auth.jwksUrl`) once the key set has been fetched — a
 * node that cannot verify any token cannot serve anyone — and stays up while the URL is down, since
 * the keys already known keep working (`lastError` then says why). Never throws.
 */
@Injectable()
export class AgentPipelineHealthIndicator {
  /** @internal Made by Nest's DI; left out of the package's types, which then need no `ioredis`. */
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(REDIS_CLIENT) private readonly redis: Redis | null,
    private readonly tokens: TokenService,
  ) {}

  /** Each dependency as `{ status: 'up' | 'down', … }` under its name. */
  async isHealthy(): Promise<PipelineHealthResult> {
    const [store, redis] = await Promise.all([this.storeHealth(), this.redis ? this.redisHealth(this.redis) : undefined]);
    return { store, ...(redis ? { redis } : {}), ...(this.tokens.keySet ? { jwks: this.jwksHealth() } : {}) };
  }

  private async storeHealth(): Promise<PipelineHealthEntry> {
    try {
      await withTimeout(this.store.ping(), RUN_STORE_PING_TIMEOUT_MS);
      return { status: 'up' };
    } catch (err) {
      return { status: 'down', message: (err as Error)?.message ?? 'The run store does not answer.' };
    }
  }

  private async redisHealth(redis: Redis): Promise<PipelineHealthEntry> {
    // Not connected: answer at once instead of queueing a PING behind the reconnect.
    if (redis.status !== 'ready') return { status: 'down', message: `Redis is ${redis.status}.` };
    try {
      await withTimeout(redis.ping(), REDIS_PING_TIMEOUT_MS);
      return { status: 'up' };
    } catch (err) {
      return { status: 'down', message: (err as Error)?.message ?? 'Redis does not answer.' };
    }
  }

  private jwksHealth(): PipelineHealthEntry {
    const keySet = this.tokens.keySet!;
    const { loaded, keys, fetchedAt, lastError } = keySet.status();
    const details = {
      url: keySet.url.href,
      keys,
      ...(fetchedAt !== undefined ? { fetchedAt: new Date(fetchedAt).toISOString() } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
    };
    if (!loaded) return { status: 'down', message: 'The signing key set is not loaded: no token can be verified.', ...details };
    return { status: 'up', ...details };
  }
}
