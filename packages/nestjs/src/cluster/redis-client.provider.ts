import { Logger, Provider } from '@nestjs/common';
import type Redis from 'ioredis';
import { requireOptionalPeer } from '../peers/optional-peer';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';

/** The shared ioredis client (scale-out), or `null` on a single node. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

const logger = new Logger('Redis');

/**
 * Opens a Redis connection that never crashes the process: errors are logged (once per outage),
 * reconnects back off up to 5 s, and commands issued meanwhile wait in ioredis' offline queue.
 */
export function createRedisClient(url: string, name = 'main'): Redis {
  const RedisClient = requireOptionalPeer<typeof import('ioredis')>('ioredis', 'redisUrl').default;
  const client = new RedisClient(url, {
    connectionName: `agent-pipeline:${name}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    // While Redis is down a command fails after one reconnect attempt instead of queueing for
    // long: local event delivery and the rate limit's in-memory fallback must not wait on it.
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    enableReadyCheck: true,
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.error(`Redis (${name}) connection error: ${err.message}. Retrying.`);
  });
  client.on('ready', () => {
    if (down) logger.log(`Redis (${name}) connection restored.`);
    down = false;
  });
  return client;
}

export const redisClientProvider: Provider = {
  provide: REDIS_CLIENT,
  inject: [PIPELINE_OPTIONS],
  useFactory: (options: ResolvedPipelineOptions): Redis | null => (options.redisUrl ? createRedisClient(options.redisUrl) : null),
};
