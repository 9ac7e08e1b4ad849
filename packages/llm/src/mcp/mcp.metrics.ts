import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AgentPipelineMetrics } from '@agent-pipeline/nestjs';

/** Names of the assistant's MCP metrics, in the pipeline's registry (`GET /metrics`). */
export const MCP_METRIC_NAMES = {
  toolCalls: 'agent_pipeline_mcp_tool_calls_total',
  toolCallDuration: 'agent_pipeline_mcp_tool_call_duration_seconds',
  serverUp: 'agent_pipeline_mcp_server_up',
} as const;

/** How an MCP tool call ended. */
export type McpCallOutcomeLabel = 'ok' | 'error' | 'cancelled';

/**
 * Per server and tool: calls by outcome and their durations; per server: whether it is connected
 * (read at scrape time from the connections, so it cannot drift).
 */
@Injectable()
export class McpMetrics {
  private readonly calls: Counter<'server' | 'tool' | 'outcome'>;
  private readonly duration: Histogram<'server' | 'tool'>;
  private serversUp: () => Array<{ server: string; up: boolean }> = () => [];

  constructor(metrics: AgentPipelineMetrics) {
    const registers = [metrics.registry];
    this.calls = new Counter({
      name: MCP_METRIC_NAMES.toolCalls,
      help: "Calls of MCP servers' tools by the assistant, by server, tool (its MCP name) and outcome (ok, error, cancelled).",
      labelNames: ['server', 'tool', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: MCP_METRIC_NAMES.toolCallDuration,
      help: "Duration of calls of MCP servers' tools, by server and tool.",
      labelNames: ['server', 'tool'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const servers = (): Array<{ server: string; up: boolean }> => this.serversUp();
    new Gauge({
      name: MCP_METRIC_NAMES.serverUp,
      help: 'Whether the assistant is connected to this MCP server (1) or not (0).',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const { server, up } of servers()) this.set({ server }, up ? 1 : 0);
      },
    });
  }

  /** @internal The connections tell their state at scrape time. */
  watchServers(read: () => Array<{ server: string; up: boolean }>): void {
    this.serversUp = read;
  }

  recordCall(server: string, tool: string, outcome: McpCallOutcomeLabel, seconds: number): void {
    this.calls.inc({ server, tool, outcome });
    this.duration.observe({ server, tool }, seconds);
  }
}
