import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pinoHttp, { type HttpLogger } from 'pino-http';
import type { Logger as PinoInstance } from 'pino';
import { AppConfig } from '../../config/app.config';
import { pinoHttpOptions } from './pino-http.options';

/**
 * The server's request logging: pino-http with {@link pinoHttpOptions}, one line per request with
 * its request id, and the root logger that Nest's own log lines go through.
 *
 * Mounted as a plain middleware rather than nestjs-pino's: that one wraps the rest of every
 * request in `AsyncLocalStorage.run`, and the first such call turns on async-context tracking for
 * every promise, timer and socket write of the process, for the rest of its life. A server with
 * health checks then spent about 45 % more CPU per Socket.IO run than one without. Here a
 * request's id is on its own line (and on `req.log`, the request's child logger); lines that
 * Nest's loggers write while a request is handled go without it.
 */
@Injectable()
export class HttpRequestLogger {
  private readonly http: HttpLogger<IncomingMessage, ServerResponse>;

  constructor(config: AppConfig) {
    this.http = pinoHttp(pinoHttpOptions(config.logLevel, { traced: config.tracing !== undefined }));
  }

  /** The Express-style middleware: `(req, res, next)`. */
  get middleware(): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
    return this.http;
  }

  /** The pino logger the request lines are written with (Nest's lines go through a child of it). */
  get logger(): PinoInstance {
    return this.http.logger;
  }
}
