import type { NestExpressApplication } from '@nestjs/platform-express';
import * as jwt from 'jsonwebtoken';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createApp, listen, type CreateAppOptions } from '../../src/app.factory';
import { AGENT_EVENT_TYPES, type AgentEventEnvelope } from '@agent-pipeline/nestjs';

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
export async function startTestApp(env: Record<string, string> = {}, extra: Pick<CreateAppOptions, 'imports'> = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pipeline-'));
  const app = await createApp({
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      // A shell's identity provider settings must not leak in (blank = unset); tests set their own.
      JWT_JWKS_URL: '',
      JWT_PUBLIC_KEY: '',
      JWT_ISSUER: '',
      JWT_AUDIENCE: '',
      JWT_ALGORITHMS: '',
      JWT_USER_CLAIM: '',
      DATABASE_URL: `sqlite:${join(dir, 'runs.db')}`,
      // Quiet request logs unless TEST_LOGS asks for them (Nest's own logger is off below).
      LOG_LEVEL: process.env.TEST_LOGS ? 'debug' : 'silent',
      // Single node unless a test asks for Redis (CI exports REDIS_URL for the tests that do).
      REDIS_URL: '',
      ...env,
    },
    logger: process.env.TEST_LOGS ? undefined : false,
    imports: extra.imports,
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
export const EVENT_TYPES = AGENT_EVENT_TYPES;

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

/** How a handshake ended: connected, or refused with the `connect_error` message. */
export type HandshakeOutcome = { connected: true; socket: Socket } | { connected: false; message: string; socket: Socket };

/**
 * Opens a socket on namespace /agents with any `auth` payload (or none) and reports whether the
 * handshake was accepted. The caller disconnects the returned socket.
 */
export function tryConnect(url: string, auth?: Record<string, unknown>): Promise<HandshakeOutcome> {
  const socket = io(`${url}/agents`, { ...(auth ? { auth } : {}), transports: ['websocket'], reconnection: false });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true, socket }));
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve({ connected: false, message: err.message, socket });
    });
  });
}

/** Records every `exception` event (Nest's fallback error channel) a socket receives; it should stay empty. */
export function recordExceptions(socket: Socket): unknown[] {
  const exceptions: unknown[] = [];
  socket.on('exception', (e: unknown) => exceptions.push(e));
  return exceptions;
}

/**
 * A round trip on `socket`: once its ack is back, every event the server wrote to this socket
 * before handling the command has arrived (one connection delivers in order).
 */
export async function roundTrip(socket: Socket): Promise<void> {
  const ack = await command(socket, 'agents:list', {});
  if (!ack?.ok) throw new Error(`agents:list round trip failed: ${JSON.stringify(ack)}`);
}

/**
 * Checks the invariants every run's events share (DESIGN.md): the same runId, threadId and agent on
 * every envelope, `seq` 1..n without gap or repeat, ISO `ts`, exactly one terminal event and it is
 * last. Returns the event types in order.
 */
export function expectWellFormedRun(events: AgentEventEnvelope[], expected: { runId: string; threadId: string; agent: string }): string[] {
  if (events.length === 0) throw new Error(`run ${expected.runId} has no events`);
  const problems: string[] = [];
  events.forEach((e, i) => {
    if (e.runId !== expected.runId) problems.push(`event ${i}: runId ${e.runId}`);
    if (e.threadId !== expected.threadId) problems.push(`event ${i}: threadId ${e.threadId} != ${expected.threadId}`);
    if (e.agent !== expected.agent) problems.push(`event ${i}: agent ${e.agent} != ${expected.agent}`);
    if (e.seq !== i + 1) problems.push(`event ${i}: seq ${e.seq} != ${i + 1}`);
    if (typeof e.ts !== 'string' || Number.isNaN(Date.parse(e.ts)) || new Date(e.ts).toISOString() !== e.ts) {
      problems.push(`event ${i}: ts ${String(e.ts)} is not an ISO-8601 string`);
    }
  });
  const terminals = events.filter((e) => TERMINAL_TYPES.has(e.type));
  if (terminals.length !== 1) problems.push(`${terminals.length} terminal events`);
  if (!TERMINAL_TYPES.has(events[events.length - 1].type)) problems.push(`last event is ${events[events.length - 1].type}`);
  if (problems.length > 0) throw new Error(`run ${expected.runId} is not well formed:\n  ${problems.join('\n  ')}`);
  return events.map((e) => e.type);
}

const TERMINAL_TYPES = new Set<string>(['agent_completed', 'agent_error', 'agent_cancelled']);
