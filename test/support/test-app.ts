import type { NestExpressApplication } from '@nestjs/platform-express';
import * as jwt from 'jsonwebtoken';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createApp, listen } from '../../src/app.factory';
import type { AgentEventEnvelope } from '../../src/pipeline';

/** The secret test apps are started with, so tests can sign their own tokens. */
export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';

export interface TestApp {
  app: NestExpressApplication;
  url: string;
  /** A valid token for `userId`. */
  token(userId: string): string;
  /** A connected socket of `userId` on namespace /agents. */
  connect(userId: string, options?: { autoConnect?: boolean }): Promise<Socket>;
  close(): Promise<void>;
}

/**
 * Starts the real app on port 0 with a SQLite file in a fresh temp dir (unless `env` says
 * otherwise). Every socket it opens is closed by `close()`.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pipeline-'));
  const app = await createApp({
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: `sqlite:${join(dir, 'runs.db')}`,
      ...env,
    },
    logger: process.env.TEST_LOGS ? undefined : false,
  });
  const url = (await listen(app)).replace('localhost', '127.0.0.1');
  const sockets: Socket[] = [];
  const token = (userId: string) => jwt.sign({ sub: userId }, env.JWT_SECRET ?? TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
  return {
    app,
    url,
    token,
    async connect(userId: string) {
      const socket = io(`${url}/agents`, { auth: { token: token(userId) }, transports: ['websocket'], reconnection: false });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err) => reject(err));
      });
      return socket;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every event type the server emits, for listeners that record everything. */
export const EVENT_TYPES = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_message_delta',
  'agent_completed',
  'agent_error',
  'agent_cancelled',
] as const;

/** Records every run event a socket receives. */
export function recordEvents(socket: Socket): AgentEventEnvelope[] {
  const events: AgentEventEnvelope[] = [];
  for (const type of EVENT_TYPES) socket.on(type, (e: AgentEventEnvelope) => events.push(e));
  return events;
}

/** Emits a command and resolves its ack (rejects if none comes within `timeoutMs`). */
export function command<T = any>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(10_000).emitWithAck(event, ...args) as Promise<T>;
}

/** Resolves once `events` holds a terminal event of `runId`. */
export async function waitForTerminal(events: AgentEventEnvelope[], runId: string, timeoutMs = 10_000): Promise<AgentEventEnvelope> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const terminal = events.find(
      (e) => e.runId === runId && (e.type === 'agent_completed' || e.type === 'agent_error' || e.type === 'agent_cancelled'),
    );
    if (terminal) return terminal;
    if (Date.now() > deadline) throw new Error(`No terminal event for run ${runId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until `predicate` holds (polling), or fails with `what`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The events of one run, in arrival order. */
export function ofRun(events: AgentEventEnvelope[], runId: string): AgentEventEnvelope[] {
  return events.filter((e) => e.runId === runId);
}
