import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Options } from 'pino-http';
import { stdTimeFunctions } from 'pino';
import { traceFields } from './trace-fields';

/** Log levels the server accepts (`LOG_LEVEL`); `silent` turns logging off. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Headers that carry credentials: never written to a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

/** Routes that scrapers and probes hit every few seconds: not worth a log line each. */
const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The pino-http settings of the server: JSON lines at `level`, credentials redacted, a request
 * id per request (the caller's `X-Request-Id` when it is sane, else a new one, echoed back), and
 * the authenticated user on the request's completion line; with `traced`, the `trace_id` and
 * `span_id` of the span active where a line is written.
 */
export function pinoHttpOptions(level: LogLevel, { traced = false }: { traced?: boolean } = {}): Options {
  return {
    level,
    // With tracing on, a line written inside a run (or any traced work) names its trace and span.
    ...(traced ? { mixin: traceFields } : {}),
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Log lines written while a request is handled carry its id only, not the whole request again.
    quietReqLogger: true,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Evaluated when the response completes, so the user the guard identified is known by then.
    customProps: (req: IncomingMessage) => {
      const userId = (req as IncomingMessage & { userId?: string }).userId;
      return userId ? { userId } : {};
    },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => {
      if (err || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.test(req.url ?? '') },
  };
}
