import type Redis from 'ioredis';
import type { ServerOptions } from 'socket.io';
import { requireOptionalPeer } from '../../peers/optional-peer';

/**
 * Entries the Redis stream keeps (trimmed approximately, `MAXLEN ~`). Nodes read the stream as it
 * grows, so this only bounds Redis' memory (≈ 2.5 MB at 250 bytes a run event) and how far back
 * connection state recovery can reach when `SOCKET_RECOVERY_MS` turns it on; clients that miss
 * more catch up from the store.
 */
export const REDIS_STREAM_MAX_LEN = 10_000;

/**
 * The Socket.IO adapter for several nodes: every broadcast goes through a Redis stream, so an
 * event emitted on any node reaches the room's sockets on every node, in order. Unlike the
 * pub/sub adapter it keeps connection state recovery working across nodes.
 */
export function redisStreamsAdapter(redis: Redis): ServerOptions['adapter'] {
  const { createAdapter } = requireOptionalPeer<typeof import('@socket.io/redis-streams-adapter')>(
    '@socket.io/redis-streams-adapter',
    'redisUrl (the Socket.IO adapter of several nodes)',
  );
  return createAdapter(redis, {
    streamName: 'agent-pipeline:socket.io',
    sessionKeyPrefix: 'agent-pipeline:sio-session:',
    maxLen: REDIS_STREAM_MAX_LEN,
    // Run events are plain JSON: skip the binary scan of every packet.
    onlyPlaintext: true,
  }) as unknown as ServerOptions['adapter'];
}
