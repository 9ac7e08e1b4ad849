import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool of the test MCP server. */
export interface TestMcpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  call(args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> | CallToolResult;
}

/** A call the test server received. */
export interface ReceivedMcpCall {
  tool: string;
  args: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  /** Resolves with the abort reason once the client cancels the call (`notifications/cancelled`). */
  cancelled: Promise<unknown>;
}

/**
 * A Streamable HTTP MCP server made of the SDK's own server and transport, one session per
 * client, on a local port: records every call, and can change its tool list (sending
 * `notifications/tools/list_changed` to every session).
 */
export class TestMcpServer {
  readonly calls: ReceivedMcpCall[] = [];
  private readonly sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();

  private constructor(
    private readonly http: HttpServer,
    private tools: TestMcpTool[],
    readonly url: string,
  ) {}

  /** Listens on `port` (0 = any free one) at `/mcp`. */
  static async start(tools: TestMcpTool[], port = 0): Promise<TestMcpServer> {
    // eslint-disable-next-line prefer-const -- assigned after the server that closes over it
    let mcp!: TestMcpServer;
    const http = createServer((req, res) => void mcp.handle(req, res).catch((err: Error) => res.destroy(err)));
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    mcp = new TestMcpServer(http, tools, `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    return mcp;
  }

  /** Replaces the tools and tells every connected client. */
  async setTools(tools: TestMcpTool[]): Promise<void> {
    this.tools = tools;
    await Promise.all([...this.sessions.values()].map(({ server }) => server.sendToolListChanged()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map(({ transport }) => transport.close()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? this.sessions.get(sessionId) : undefined;
    if (existing) return existing.transport.handleRequest(req, res);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, server }),
    });
    transport.onclose = () => transport.sessionId && this.sessions.delete(transport.sessionId);
    const server = this.serverFor(req);
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  private serverFor(first: IncomingMessage): Server {
    const server = new Server({ name: 'test-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: this.tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema: inputSchema as never })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = this.tools.find((t) => t.name === request.params.name);
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      this.calls.push({
        tool: request.params.name,
        args,
        headers: first.headers,
        cancelled: new Promise((resolve) => extra.signal.addEventListener('abort', () => resolve(extra.signal.reason))),
      });
      if (!tool) return { content: [{ type: 'text', text: `No tool ${request.params.name}` }], isError: true };
      return tool.call(args, extra.signal);
    });
    return server;
  }
}
