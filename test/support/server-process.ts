import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as jwt from 'jsonwebtoken';
import { io, type Socket } from 'socket.io-client';
import { OTEL_VARIABLES } from '../../src/observability/tracing/tracing.settings';
import { TEST_JWT_SECRET } from './test-app';

/** The built server that `test/support/global-setup.ts` compiles before the suites run. */
export const BUILT_MAIN = resolve(__dirname, '..', '..', 'dist', 'main.js');

/**
 * Variables of the server that a developer's or CI's shell may set (CI points `DATABASE_URL` and
 * `REDIS_URL` at services). A child server must see only what its test asks for, so these are
 * never inherited.
 */
const SERVER_VARIABLES = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'JWT_SECRET',
  'JWT_JWKS_URL',
  'JWT_PUBLIC_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_ALGORITHMS',
  'JWT_CLOCK_TOLERANCE_S',
  'JWT_USER_CLAIM',
  'DATABASE_URL',
  'REDIS_URL',
  'RUN_TIMEOUT_MS',
  'SHUTDOWN_GRACE_MS',
  'MAX_CONCURRENT_RUNS_PER_USER',
  'RATE_LIMIT_RUNS_PER_MINUTE',
  'MAX_INPUT_BYTES',
  'DEMO_AGENTS',
  'CORS_ORIGINS',
  'LOG_LEVEL',
  'RUN_LEASE_MS',
  'RUN_MAX_ATTEMPTS',
  'SOCKET_RECOVERY_MS',
  'SSE_KEEPALIVE_MS',
  'MAX_SOCKETS_PER_USER',
  'SOCKET_MAX_BUFFERED_BYTES',
  'STORE_BACKLOG_MAX_EVENTS',
  'THREAD_MULTITASK',
  'MAX_QUEUED_RUNS_PER_THREAD',
  'THREAD_QUEUE_SWEEP_MS',
  'OPENAI_API_KEY',
  'DRIFT',
  'MAX_TOKENS_PER_USER_PER_DAY',
  ...OTEL_VARIABLES,
];

/** How a child server ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A server started as its own process (`node dist/main.js`), as it runs in production. */
export interface ServerProcess {
  /** Base URL, e.g. `http://127.0.0.1:41055` (the port the server chose for `PORT=0`). */
  readonly url: string;
  readonly pid: number;
  /** Settles when the process has exited. */
  readonly exited: Promise<ServerExit>;
  /** Everything the process printed so far (stdout and stderr, interleaved, colours stripped). */
  output(): string;
  /** Sends a signal (`SIGTERM` by default). */
  kill(signal?: NodeJS.Signals): void;
  /** A token for `userId`, signed with the server's secret. */
  token(userId: string): string;
  /** A connected socket of `userId` on namespace /agents (websocket only, no reconnection). */
  connect(userId: string): Promise<Socket>;
  /** Closes its sockets and, unless it has exited, kills the process (SIGKILL); resolves on exit. */
  stop(): Promise<ServerExit>;
}

/**
 * The built server with a few more agents (`ticker`, `plain-approval`: long runs that are not
 * durable; `flaky`, `drifting`: durable agents that retry a step or drift from their journal).
 */
export const TEST_AGENTS_MAIN = resolve(__dirname, 'fixtures', 'test-agents.server.js');

/** Options of {@link startServerProcess}. */
export interface StartServerOptions {
  /** How long to wait for the `Listening on` line. @default 20000 */
  startTimeoutMs?: number;
  /** The script to run. @default BUILT_MAIN */
  main?: string;
}

const running = new Set<ServerProcess>();

/**
 * Starts `node dist/main.js` with `env` on top of the test defaults (`PORT=0`, `HOST=127.0.0.1`,
 * `JWT_SECRET`, `NO_COLOR`) and resolves once it logs `Listening on http://…:PORT`. Rejects (and
 * kills the process) if it exits or stays silent first; the error carries its output.
 */
export async function startServerProcess(env: Record<string, string>, options: StartServerOptions = {}): Promise<ServerProcess> {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${BUILT_MAIN} does not exist. Build it with 'npx tsc -p tsconfig.build.json' (npm test does, unless SKIP_BUILD=1).`);
  }
  const inherited = { ...process.env };
  for (const name of SERVER_VARIABLES) delete inherited[name];
  const secret = env.JWT_SECRET ?? TEST_JWT_SECRET;
  const child: ChildProcess = spawn(process.execPath, [options.main ?? BUILT_MAIN], {
    env: { ...inherited, NO_COLOR: '1', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: secret, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  const exited = new Promise<ServerExit>((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => fail(`no 'Listening on' line within ${options.startTimeoutMs ?? 20_000} ms`),
      options.startTimeoutMs ?? 20_000,
    );
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`Server process did not start: ${why}. Output:\n${out}`));
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = stripAnsi(chunk.toString('utf8'));
      out += text;
      stdout += text;
      const match = /Listening on (http:\/\/[^\s:]+:(\d+))/.exec(stdout);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolveUrl(match[1].replace('localhost', '127.0.0.1'));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += stripAnsi(chunk.toString('utf8'))));
    void exited.then((exit) => fail(`it exited first (code ${exit.code}, signal ${exit.signal})`));
  });
  const sockets: Socket[] = [];
  const token = (userId: string) => jwt.sign({ sub: userId }, secret, { algorithm: 'HS256', expiresIn: 3600 });
  let exit: ServerExit | undefined;
  void exited.then((e) => (exit = e));
  const server: ServerProcess = {
    url,
    pid: child.pid!,
    exited,
    output: () => out,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    token,
    async connect(userId: string) {
      const socket = io(`${url}/agents`, { auth: { token: token(userId) }, transports: ['websocket'], reconnection: false });
      sockets.push(socket);
      await new Promise<void>((resolveConnect, reject) => {
        socket.once('connect', () => resolveConnect());
        socket.once('connect_error', (err) => reject(err));
      });
      return socket;
    },
    async stop() {
      for (const s of sockets) s.disconnect();
      if (!exit) child.kill('SIGKILL');
      const result = await exited;
      running.delete(server);
      return result;
    },
  };
  running.add(server);
  return server;
}

/** Stops every server process this test file started and has not stopped yet (for `afterAll`). */
export async function stopAllServerProcesses(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** A fresh temp folder for a SQLite file that several server processes share. */
export function tempDatabase(): { url: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pipeline-proc-'));
  return { url: `sqlite:${join(dir, 'runs.db')}`, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
