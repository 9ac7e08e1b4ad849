import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../../config/app.config';

/**
 * The Socket.IO server of the app: frame size bound to `MAX_INPUT_BYTES` (4× plus room for the
 * envelope, so an oversize input is answered with `PAYLOAD_TOO_LARGE` rather than a dropped
 * connection), connection state recovery, CORS, and an optional adapter (Redis, for scale-out).
 */
export class AgentsSocketAdapter extends IoAdapter {
  private server?: Server;

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly adapterFactory?: ServerOptions['adapter'],
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: Partial<ServerOptions>): Server {
    const cors = this.config.corsOrigins.length > 0 ? { origin: this.config.corsOrigins, credentials: true } : undefined;
    const server: Server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: this.config.maxSocketFrameBytes,
      connectionStateRecovery: {
        maxDisconnectionDuration: this.config.socketRecoveryMs,
        // A recovered socket keeps its user and room from its original, authenticated handshake.
        skipMiddlewares: true,
      },
      ...(cors ? { cors } : {}),
      ...(this.adapterFactory ? { adapter: this.adapterFactory } : {}),
    });
    this.server = server;
    return server;
  }

  /** The root Socket.IO server, once created. */
  get ioServer(): Server | undefined {
    return this.server;
  }
}
