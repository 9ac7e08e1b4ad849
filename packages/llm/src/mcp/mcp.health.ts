import { Injectable } from '@nestjs/common';
import type { PipelineHealthResult } from '@agent-pipeline/nestjs';
import { McpToolSource } from './mcp-tool.source';

/**
 * The assistant's MCP servers for a health route (`@nestjs/terminus` shape), next to the
 * pipeline's own indicator: `{ mcp: { status: 'up', servers: { <name>: { status, transport, tools, message? } } } }`.
 * The entry itself stays `up` while a server is down: the assistant still serves, without that
 * server's tools, and a node should not be taken out of rotation for another service's outage.
 * Empty when no server is configured.
 */
@Injectable()
export class McpHealthIndicator {
  constructor(private readonly source: McpToolSource) {}

  isHealthy(): PipelineHealthResult {
    const servers = this.source.statuses();
    return Object.keys(servers).length === 0 ? {} : { mcp: { status: 'up', servers } };
  }
}
