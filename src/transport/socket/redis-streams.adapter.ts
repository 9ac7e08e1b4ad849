import { createAdapter } from '@socket.io/redis-streams-adapter';
import type Redis from 'ioredis';
import type { ServerOptions } from 'socket.io';

/**
 * The Socket.IO adapter for several nodes: every broadcast goes through a Redis stream, so an
 * event emitted on any node reaches the room's sockets on every node, in order. Unlike the
 * pub/sub adapter it keeps connection state recovery working across nodes.
 */
export function redisStreamsAdapter(redis: Redis): ServerOptions['adapter'] {
  return createAdapter(redis, {
    streamName: 'agent-pipeline:socket.io',
    sessionKeyPrefix: 'agent-pipeline:sio-session:',
    // Run events are plain JSON: skip the binary scan of every packet.
    onlyPlaintext: true,
  }) as unknown as ServerOptions['adapter'];
}
