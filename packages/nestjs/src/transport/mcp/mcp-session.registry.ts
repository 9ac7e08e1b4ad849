import { BeforeApplicationShutdown, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { McpAgentServerFactory } from './mcp-agent.server';
import { mcpServerSdk } from './mcp-sdk.loader';

/** Sessions one user may hold; one more closes the one idle longest. */
export const MCP_SESSIONS_PER_USER = 16;
/** A session nothing was sent on for this long is closed (its client starts a new one). */
export const MCP_SESSION_IDLE_MS = 30 * 60_000;

interface McpSession {
  readonly userId: string;
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  /** Requests (calls, the GET stream) still open on it: a session in use is never idle. */
  open: number;
}

/**
 * The MCP sessions of this node, one per client (`Mcp-Session-Id`), each bound to the user who
 * opened it: a request with another user's session id is answered like an unknown session, so no
 * one can reach someone else's session. Sessions are bounded per user and closed when idle, and
 * all of them on shutdown. They live in this node's memory: behind a load balancer, route a
 * session's requests to one node (the header is the key).
 */
@Injectable()
export class McpSessionRegistry implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('AgentPipelineMcp');
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly servers: McpAgentServerFactory) {
    this.sweep = setInterval(() => this.closeIdle(), Math.min(MCP_SESSION_IDLE_MS, 60_000));
    this.sweep.unref();
  }

  /** Serves one HTTP request of `userId` to `/mcp` (POST, GET or DELETE). */
  async handle(userId: string, req: Request, res: Response): Promise<void> {
    const id = req.headers['mcp-session-id'];
    if (id !== undefined) {
      const session = typeof id === 'string' ? this.sessions.get(id) : undefined;
      if (!session || session.userId !== userId) return rpcError(res, 404, -32001, 'Session not found: start a new one with initialize.');
      return this.serve(session, req, res);
    }
    if (req.method !== 'POST') return rpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header; start a session with initialize.');
    // A new session: the transport accepts only an initialize request without a session id.
    const server = this.servers.create(userId);
    // eslint-disable-next-line prefer-const -- the transport's callbacks close over the session made with it
    let session: McpSession;
    const { StreamableHTTPServerTransport } = mcpServerSdk();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sessionId) => {
        this.makeRoomFor(userId);
        this.sessions.set(sessionId, session);
      },
    });
    session = { userId, transport, server, lastSeen: Date.now(), open: 0 };
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await this.serve(session, req, res);
    if (!transport.sessionId) await server.close().catch(() => undefined);
  }

  /** Open sessions on this node. */
  get size(): number {
    return this.sessions.size;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.closeAll();
  }

  onModuleDestroy(): Promise<void> {
    clearInterval(this.sweep);
    return this.closeAll();
  }

  private async serve(session: McpSession, req: Request, res: Response): Promise<void> {
    session.lastSeen = Date.now();
    session.open++;
    res.once('close', () => {
      session.open--;
      session.lastSeen = Date.now();
    });
    await session.transport.handleRequest(req, res, req.body);
  }

  private makeRoomFor(userId: string): void {
    const mine = [...this.sessions.values()].filter((s) => s.userId === userId);
    if (mine.length < MCP_SESSIONS_PER_USER) return;
    const idlest =
      mine.filter((s) => s.open === 0).sort((a, b) => a.lastSeen - b.lastSeen)[0] ?? mine.sort((a, b) => a.lastSeen - b.lastSeen)[0];
    this.logger.debug({ msg: 'MCP session closed to make room for a new one of its user', userId });
    void this.close(idlest);
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.open === 0 && now - session.lastSeen > MCP_SESSION_IDLE_MS) void this.close(session);
    }
  }

  private async close(session: McpSession): Promise<void> {
    if (session.transport.sessionId) this.sessions.delete(session.transport.sessionId);
    await session.server.close().catch(() => undefined);
  }

  private async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.close(s)));
  }
}

/** A JSON-RPC error answer outside any session, as the SDK's transport words its own. */
function rpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}
