import { Module } from '@nestjs/common';
import { HttpTransportModule } from '../http/http-transport.module';
import { McpAgentServerFactory } from './mcp-agent.server';
import { McpSessionRegistry } from './mcp-session.registry';
import { McpToolCallRunner } from './mcp-tool-call.runner';
import { McpController } from './mcp.controller';

/** The agents as MCP tools at `/mcp` (Streamable HTTP), each call an ordinary run followed by the HTTP transport's follower. */
@Module({
  imports: [HttpTransportModule],
  controllers: [McpController],
  providers: [McpSessionRegistry, McpAgentServerFactory, McpToolCallRunner],
})
export class McpTransportModule {}
