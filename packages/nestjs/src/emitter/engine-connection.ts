import type { Socket } from 'socket.io';

/** The parts of an Engine.IO connection that hold a socket's unsent data (not in its public types). */
export interface EngineConnection {
  readonly readyState: string;
  readonly writeBuffer: ReadonlyArray<EnginePacket>;
  readonly transport: EngineTransport;
  on(event: 'packetCreate', listener: (packet: EnginePacket) => void): void;
  on(event: 'flush', listener: () => void): void;
  once(event: 'close', listener: () => void): void;
  close(discard?: boolean): void;
}

/** An Engine.IO transport; `socket` is the `ws` WebSocket of the websocket transport. */
export interface EngineTransport {
  readonly name: string;
  readonly socket?: { readonly bufferedAmount?: number; terminate?(): void };
}

/** A packet as Engine.IO queues it: Socket.IO's encoded packet as a string, or a binary attachment. */
export interface EnginePacket {
  readonly type: string;
  readonly data?: string | ArrayBufferView | ArrayBuffer;
}

/** The Engine.IO connection under a Socket.IO socket. */
export function engineConnection(socket: Socket): EngineConnection {
  return socket.conn as unknown as EngineConnection;
}

/**
 * Closes a connection now, dropping whatever it has not sent: Engine.IO's discard flag skips the
 * wait for its write buffer to drain, and the websocket is terminated, because its close
 * handshake would wait up to 30 s for a client that does not read.
 */
export function forceCloseConnection(conn: EngineConnection): void {
  const transport = conn.transport;
  conn.close(true);
  if (transport?.name === 'websocket') transport.socket?.terminate?.();
}
