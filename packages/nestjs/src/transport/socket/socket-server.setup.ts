import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../../cluster/redis-client.provider';
import { PIPELINE_OPTIONS } from '../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import { AgentsSocketAdapter } from './agents-socket.adapter';
import { redisStreamsAdapter } from './redis-streams.adapter';

/** Injection token of the gateway's namespace (`socket.namespace`). */
export const SOCKET_NAMESPACE = Symbol('SOCKET_NAMESPACE');

/**
 * Installs the pipeline's Socket.IO server in the app as its WebSocket adapter, so that the
 * consumer's `main.ts` needs no `useWebSocketAdapter`: it runs while the app's providers are made,
 * before Nest connects any gateway. An app that sets an adapter of its own keeps it (and then owns
 * the server options: frame size, CORS, the Redis adapter).
 */
@Injectable()
export class SocketServerSetup {
  constructor(
    config: ApplicationConfig,
    host: HttpAdapterHost,
    @Inject(PIPELINE_OPTIONS) options: ResolvedPipelineOptions,
    @Inject(REDIS_CLIENT) redis: Redis | null,
    @Inject(SOCKET_NAMESPACE) namespace: string,
  ) {
    if (config.getIoAdapter()) {
      new Logger('AgentPipeline').warn(
        "The app set a WebSocket adapter of its own: the pipeline leaves it in place, so its Socket.IO options (frame size, CORS, the Redis adapter) are the app's to set.",
      );
      return;
    }
    config.setIoAdapter(new AgentsSocketAdapter(host, options, namespace, redis ? redisStreamsAdapter(redis) : undefined));
  }
}
