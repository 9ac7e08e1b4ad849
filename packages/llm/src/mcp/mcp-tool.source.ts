import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { LLM_SETTINGS, type LlmSettings } from '../llm.options';
import { McpMetrics } from './mcp.metrics';
import { McpServerConnection, type McpRemoteTool, type McpServerStatus } from './mcp-server.connection';

/**
 * The MCP servers of `mcpServers` (`LLM_MCP_SERVERS`): connects to each at start (in parallel;
 * the start waits for the first attempt of each, a server down is retried in the background), and
 * gives the assistant their tools and a way to call them, counted per server and tool.
 */
@Injectable()
export class McpToolSource implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connections: McpServerConnection[];

  constructor(
    @Inject(LLM_SETTINGS) private readonly settings: LlmSettings,
    private readonly metrics: McpMetrics,
  ) {
    this.connections = settings.mcpServers.map((server) => new McpServerConnection(server, settings.mcpTimings));
    metrics.watchServers(() => this.connections.map((c) => ({ server: c.name, up: c.status().status === 'up' })));
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.connect()));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }

  /** The configured server names. */
  serverNames(): string[] {
    return this.connections.map((c) => c.name);
  }

  /** Every tool of every server that is up, now. */
  list(): McpRemoteTool[] {
    return this.connections.flatMap((c) => c.listTools());
  }

  get(name: string): McpRemoteTool | undefined {
    return this.list().find((tool) => tool.name === name);
  }

  /** Whether the server's own `needsApproval` covers this tool. */
  serverRequiresApproval(tool: McpRemoteTool): boolean {
    const approval = this.settings.mcpServers.find((s) => s.name === tool.server)?.approval;
    return approval === true || approval?.has(tool.mcpName) === true;
  }

  /** Calls the tool on its server with the run's signal and the call timeout; throws the tool's error. */
  async call(tool: McpRemoteTool, args: unknown, signal: AbortSignal): Promise<unknown> {
    const connection = this.connections.find((c) => c.name === tool.server)!;
    const started = performance.now();
    try {
      const result = await connection.call(tool, args, { signal, timeoutMs: this.settings.mcpCallTimeoutMs });
      this.metrics.recordCall(tool.server, tool.mcpName, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.metrics.recordCall(tool.server, tool.mcpName, signal.aborted ? 'cancelled' : 'error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  /** Each server's state, by name. */
  statuses(): Record<string, McpServerStatus> {
    return Object.fromEntries(this.connections.map((c) => [c.name, c.status()]));
  }
}
