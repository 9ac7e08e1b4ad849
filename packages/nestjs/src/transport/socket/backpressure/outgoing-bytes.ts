import type { Socket } from 'socket.io';
import { engineConnection, type EngineConnection, type EnginePacket } from '../../../emitter/engine-connection';

/**
 * Size of a queued packet, in bytes for binary data and in UTF-16 units for text (Socket.IO's
 * encoded JSON). Counting characters instead of UTF-8 bytes keeps this O(1) per packet; for the
 * ASCII JSON of run events the two are the same.
 */
export function packetSize(packet: EnginePacket): number {
  const data = packet.data;
  if (data === undefined) return 1;
  return typeof data === 'string' ? data.length : data.byteLength;
}

/**
 * Bytes the transport has taken but not yet handed to the kernel: the websocket's buffered
 * amount (`ws` counts its socket's write queue and its own sender queue). Long polling holds
 * nothing here: its packets wait in Engine.IO's write buffer until the client polls.
 */
export function transportBufferedBytes(conn: EngineConnection): number {
  const transport = conn.transport;
  if (transport?.name !== 'websocket') return 0;
  return transport.socket?.bufferedAmount ?? 0;
}

/** Everything written to a socket that has not left the process yet, measured from scratch. */
export function pendingOutgoingBytes(socket: Socket): number {
  const conn = engineConnection(socket);
  let queued = 0;
  for (const packet of conn.writeBuffer) queued += packetSize(packet);
  return queued + transportBufferedBytes(conn);
}
