import { Injectable } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { AgentService } from '../../runs/agent.service';
import { McpToolCallRunner } from './mcp-tool-call.runner';
import { mcpServerSdk } from './mcp-sdk.loader';
import { agentTool } from './mcp-tool.mapping';

/** How the server introduces itself in `initialize`. */
const SERVER_INFO = { name: 'agent-pipeline', version: '0.2.0' };

/** Makes the MCP server of one session: the agents as tools, every call run as the session's user. */
@Injectable()
export class McpAgentServerFactory {
  constructor(
    private readonly agents: AgentService,
    private readonly calls: McpToolCallRunner,
  ) {}

  create(userId: string): Server {
    const { Server, CallToolRequestSchema, ListToolsRequestSchema } = mcpServerSdk();
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: {} },
      instructions:
        'Each tool runs one agent of this server for you; the run is stored and shows on your other channels. ' +
        "Pass _meta.threadId to continue a thread (the threadId of an earlier result's _meta).",
    });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.agents.listAgents().map(agentTool) }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => this.calls.call(userId, server, request.params, extra));
    return server;
  }
}
