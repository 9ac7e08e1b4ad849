import { Logger } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js';
import { mcpClientSdk } from './mcp-sdk.loader';
import { mcpCallOutcome, type McpCallResult } from './mcp-tool.result';
import { mcpToolName } from './mcp-tool.names';
import type { McpServerSettings } from './mcp-server.config';

/** A tool of a connected MCP server, as the model is offered it. */
export interface McpRemoteTool {
  /** `mcp__<server>__<tool>`: the name the model calls it by. */
  readonly name: string;
  readonly server: string;
  /** The tool's own name on its server. */
  readonly mcpName: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** How reconnecting and calling behave; the defaults suit production, tests shorten them. */
export interface McpConnectionTimings {
  /** Longest wait for a connection (initialize and tools/list). */
  readonly connectTimeoutMs: number;
  /** First wait before a reconnect; doubled after each failure, up to `reconnectMaxMs`. */
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  /**
   * How often a Streamable HTTP server that is up is pinged: nothing else tells that it went away
   * between two calls (a stdio server's exit is seen at once).
   */
  readonly pingIntervalMs: number;
}

/** What `/health` shows of one server. */
export interface McpServerStatus {
  status: 'up' | 'down';
  transport: 'http' | 'stdio';
  tools: number;
  message?: string;
  /** Failed connection attempts since the last success. */
  failures?: number;
}

const CLIENT_INFO = { name: 'agent-pipeline-assistant', version: '1.0.0' };

/**
 * One MCP server the assistant uses: connects (Streamable HTTP or stdio), lists its tools and
 * lists them again on `notifications/tools/list_changed`, and calls them. A server that cannot be
 * reached (at start or later: a stdio process that exits, an HTTP server that stops answering or
 * forgot the session) is marked down, its tools are left out, and it is reconnected with
 * exponential backoff until it answers again or the app stops.
 */
export class McpServerConnection {
  private readonly logger: Logger;
  private client?: Client;
  private tools: McpRemoteTool[] = [];
  private up = false;
  private lastError?: string;
  private failures = 0;
  private retry?: NodeJS.Timeout;
  private ping?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  private closed = false;

  constructor(
    readonly settings: McpServerSettings,
    private readonly timings: McpConnectionTimings,
    private readonly onToolsChanged: () => void = () => undefined,
  ) {
    this.logger = new Logger(`McpServer:${settings.name}`);
  }

  get name(): string {
    return this.settings.name;
  }

  /** The tools offered to the model now: none while the server is down. */
  listTools(): readonly McpRemoteTool[] {
    return this.up ? this.tools : [];
  }

  status(): McpServerStatus {
    return {
      status: this.up ? 'up' : 'down',
      transport: this.settings.kind,
      tools: this.listTools().length,
      ...(!this.up ? { message: this.lastError ?? 'Connecting.' } : {}),
      ...(this.failures > 0 ? { failures: this.failures } : {}),
    };
  }

  /** Connects once; a failure is logged and retried later, never thrown. */
  connect(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.connecting ??= this.attempt().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * Calls one of the server's tools. Aborting `signal` cancels the call on the server
   * (`notifications/cancelled`); after `timeoutMs` the call fails. An `isError` answer, a
   * JSON-RPC error and a lost connection all become the thrown error's message.
   */
  async call(tool: McpRemoteTool, args: unknown, options: { signal: AbortSignal; timeoutMs: number }): Promise<unknown> {
    const client = this.client;
    if (!this.up || !client) {
      throw new Error(`The MCP server '${this.name}' is not connected (${this.lastError ?? 'connecting'}); ${tool.name} could not run.`);
    }
    let answer: McpCallResult;
    try {
      answer = (await client.callTool({ name: tool.mcpName, arguments: (args ?? {}) as Record<string, unknown> }, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
      })) as McpCallResult;
    } catch (err) {
      if (options.signal.aborted) throw err;
      const { McpError, ErrorCode } = mcpClientSdk();
      if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
        throw new Error(`The MCP tool '${tool.mcpName}' of server '${this.name}' did not answer within ${options.timeoutMs} ms.`, {
          cause: err,
        });
      }
      // A JSON-RPC error is the server's answer; anything else means the connection is gone.
      if (!(err instanceof McpError) || err.code === ErrorCode.ConnectionClosed) this.lost(client, err);
      throw new Error(`The MCP server '${this.name}' failed to run '${tool.mcpName}': ${messageOf(err)}`, { cause: err });
    }
    const outcome = mcpCallOutcome(this.name, tool.mcpName, answer);
    if ('error' in outcome) throw new Error(outcome.error);
    return outcome.result;
  }

  /** Closes the connection (a stdio server's process ends) and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.ping);
    const client = this.client;
    this.client = undefined;
    this.up = false;
    await client?.close().catch(() => undefined);
  }

  private async attempt(): Promise<void> {
    clearTimeout(this.retry);
    this.retry = undefined;
    const { Client } = mcpClientSdk();
    const client = new Client(CLIENT_INFO, {
      capabilities: {},
      listChanged: { tools: { autoRefresh: false, debounceMs: 100, onChanged: () => void this.refresh(client) } },
    });
    try {
      await client.connect(this.transport(), { timeout: this.timings.connectTimeoutMs });
      const tools = await this.fetchTools(client);
      if (this.closed) {
        await client.close();
        return;
      }
      this.client = client;
      this.tools = tools;
      this.up = true;
      this.lastError = undefined;
      this.failures = 0;
      // Set after the connection is up: a close during connect() is that attempt's failure.
      client.onclose = () => this.lost(client, new Error('the connection closed'));
      if (this.settings.kind === 'http') this.watch(client);
      this.logger.log(
        `Connected: ${tools.length} tool${tools.length === 1 ? '' : 's'} (${tools.map((t) => t.mcpName).join(', ') || 'none'}).`,
      );
      this.onToolsChanged();
    } catch (err) {
      await client.close().catch(() => undefined);
      this.failed(err);
    }
  }

  private transport(): StreamableHTTPClientTransport | StdioClientTransport {
    const s = this.settings;
    const { StreamableHTTPClientTransport, StdioClientTransport, getDefaultEnvironment } = mcpClientSdk();
    if (s.kind === 'http') return new StreamableHTTPClientTransport(s.url, { requestInit: { headers: s.headers } });
    // The child's diagnostics go to this process's stderr, as any child process's would.
    return new StdioClientTransport({ command: s.command, args: s.args, env: { ...getDefaultEnvironment(), ...s.env }, stderr: 'inherit' });
  }

  private async fetchTools(client: Client): Promise<McpRemoteTool[]> {
    if (!client.getServerCapabilities()?.tools) return [];
    const tools: McpRemoteTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.timings.connectTimeoutMs });
      for (const tool of page.tools) {
        const remote = this.toRemote(tool, tools);
        if (remote) tools.push(remote);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  private toRemote(tool: McpToolDefinition, taken: McpRemoteTool[]): McpRemoteTool | undefined {
    const name = mcpToolName(this.name, tool.name);
    if (!name) {
      this.logger.warn(
        `Tool '${tool.name}' is left out: 'mcp__${this.name}__${tool.name}' is longer than the 64 characters model APIs accept.`,
      );
      return undefined;
    }
    if (taken.some((t) => t.name === name)) {
      this.logger.warn(`Tool '${tool.name}' is left out: another tool of this server is also offered as '${name}'.`);
      return undefined;
    }
    return {
      name,
      server: this.name,
      mcpName: tool.name,
      description: tool.description ?? tool.title ?? tool.name,
      inputSchema: tool.inputSchema as Record<string, unknown>,
    };
  }

  private async refresh(client: Client): Promise<void> {
    if (client !== this.client) return;
    try {
      this.tools = await this.fetchTools(client);
      this.logger.log(`Tools changed: ${this.tools.map((t) => t.mcpName).join(', ') || 'none'}.`);
      this.onToolsChanged();
    } catch (err) {
      this.logger.warn(`Could not list the changed tools: ${messageOf(err)}`);
    }
  }

  private watch(client: Client): void {
    clearInterval(this.ping);
    this.ping = setInterval(() => {
      client.ping({ timeout: this.timings.connectTimeoutMs }).catch((err: unknown) => this.lost(client, err));
    }, this.timings.pingIntervalMs);
    this.ping.unref();
  }

  private lost(client: Client, err: unknown): void {
    if (client !== this.client || this.closed) return;
    clearInterval(this.ping);
    this.client = undefined;
    this.up = false;
    void client.close().catch(() => undefined);
    this.onToolsChanged();
    this.failed(err);
  }

  private failed(err: unknown): void {
    this.up = false;
    this.lastError = messageOf(err);
    this.failures++;
    if (this.closed) return;
    const delay = Math.min(this.timings.reconnectMaxMs, this.timings.reconnectInitialMs * 2 ** Math.min(this.failures - 1, 20));
    // Jitter spreads the reconnects of many nodes to one server that came back.
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    (this.failures === 1 ? this.logger.warn : this.logger.debug).call(
      this.logger,
      `Unavailable (${this.lastError}); its tools are left out, retrying in ${wait} ms.`,
    );
    this.retry = setTimeout(() => void this.connect(), wait);
    this.retry.unref();
  }
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause && !String(e?.message).includes(cause) ? ` (${cause})` : ''}`;
}
