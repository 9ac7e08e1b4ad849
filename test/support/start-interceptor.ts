import type { INestApplication } from '@nestjs/common';
import { AgentService, type StartRunRequest } from '@agent-pipeline/nestjs';
import type { TcpProxy } from './tcp-proxy';

/** What {@link interceptStarts} gives a test. */
export interface StartInterceptor {
  /** Every start the server was asked for, in order. */
  readonly starts: StartRunRequest[];
  /**
   * The next start the server carries out is cut off: once the run is started, and before the
   * gateway or controller can answer, the proxy drops every connection; it is back after `ms`.
   */
  cutNextStart(ms: number): void;
}

/**
 * Wraps the app's `AgentService.start` (the one instance the gateway and the controllers call), so
 * a test sees every start and can break the connection through `proxy` at the worst moment: after
 * the server took the start and before its answer left.
 */
export function interceptStarts(app: INestApplication, proxy: TcpProxy): StartInterceptor {
  const service = app.get(AgentService, { strict: false });
  const start = service.start.bind(service);
  const starts: StartRunRequest[] = [];
  let cutFor: number | undefined;
  service.start = async (userId, request) => {
    starts.push(request);
    const run = await start(userId, request);
    const ms = cutFor;
    cutFor = undefined;
    if (ms !== undefined) {
      await proxy.cut();
      setTimeout(() => void proxy.restore(), ms);
    }
    return run;
  };
  return {
    starts,
    cutNextStart: (ms) => {
      cutFor = ms;
    },
  };
}
