import type { IncomingMessage } from 'node:http';
import type { HttpAdapterHost } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { AGENTS_NAMESPACE } from '@agent-pipeline/protocol';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import { originAllowed } from './connections/origin.check';

/**
 * The Socket.IO server the pipeline installs in the app (unless the app set an adapter of its
 * own): frame size bound to `maxInputBytes` (4× plus room for the envelope, so an oversize input
 * is answered with `PAYLOAD_TOO_LARGE` rather than a dropped connection), CORS for `corsOrigins`,
 * a handshake only from the server's own origin, `corsOrigins` or a non-browser client (a browser
 * opens a WebSocket to any origin), an optional adapter (Redis, for scale-out), the gateway's namespace, and connection state
 * recovery only when `socketRecoveryMs` asks for it: Socket.IO keeps every broadcast packet for
 * that window, so its memory is event rate × window. Clients catch up from the store instead
 * (`run:replay`), which costs nothing while nobody is disconnected.
 *
 * It is made while the app's providers are, before the HTTP server exists, so it attaches to that
 * server when the first gateway asks for one.
 */
export class AgentsSocketAdapter extends IoAdapter {
  constructor(
    private readonly host: HttpAdapterHost,
    private readonly config: ResolvedPipelineOptions,
    private readonly namespace: string,
    private readonly adapterFactory?: ServerOptions['adapter'],
  ) {
    super();
  }

  override create(port: number, options?: ServerOptions & { namespace?: string; server?: unknown }): Server {
    const self = this as unknown as { httpServer?: unknown };
    self.httpServer ??= this.host.httpAdapter?.getHttpServer();
    // The gateway is declared on the default namespace; `socket.namespace` moves it.
    const moved = options?.namespace === AGENTS_NAMESPACE ? { ...options, namespace: this.namespace } : options;
    return super.create(port, moved);
  }

  override createIOServer(port: number, options?: Partial<ServerOptions>): Server {
    const cors = this.config.corsOrigins.length > 0 ? { origin: this.config.corsOrigins, credentials: true } : undefined;
    const server: Server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: this.config.maxInputBytes * 4 + 16 * 1024,
      ...(this.config.socketRecoveryMs > 0
        ? {
            connectionStateRecovery: {
              maxDisconnectionDuration: this.config.socketRecoveryMs,
              // A recovered socket is authenticated and counted again like any other: its token may have expired.
              skipMiddlewares: false,
            },
          }
        : {}),
      ...(cors ? { cors } : {}),
      ...(this.adapterFactory ? { adapter: this.adapterFactory } : {}),
      allowRequest: (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
        if (!originAllowed(req, this.config.corsOrigins)) return callback('origin not allowed', false);
        if (options?.allowRequest) return options.allowRequest(req, callback);
        callback(null, true);
      },
    });
    return server;
  }

  /**
   * Binds the gateway's handlers with plain listeners. Nest's default builds an rxjs pipeline per
   * handler and socket (`fromEvent` → `mergeMap` → `takeUntil(disconnect)`), which costs memory
   * for every connected socket and time for every command; the behaviour here is the same: the
   * handler's value (awaited) is the ack, `{ event, data }` is emitted instead, nothing for null.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args);
        void settle(callback(data, ack)).then((response) => {
          if (response === null || response === undefined) return;
          const { event, data: eventData } = response as { event?: string; data?: unknown };
          if (event) socket.emit(event, eventData);
          else if (!isAckHandledManually && typeof ack === 'function') ack(response);
        });
      });
    }
  }
}

/** A handler's result as a value; Nest's exception filters have already turned errors into results. */
async function settle(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}
