import { Controller, Delete, Get, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BearerAuthGuard } from '../../auth/bearer-auth.guard';
import { CurrentUser } from '../../auth/current-user.decorator';
import { ApiErrors } from '../http/api-errors.decorator';
import { PipelineHttpRoutes } from '../http/pipeline-http.decorator';
import { McpSessionRegistry } from './mcp-session.registry';

const SESSION_HEADER = { name: 'Mcp-Session-Id', required: false, description: 'The session id the initialize answer gave.' };

/**
 * `/mcp`: the agents as MCP tools over Streamable HTTP, for any MCP client (desktop assistants,
 * IDEs, other agents). The same Bearer token as every route; each call runs as its user. A thin
 * door: the SDK's transport speaks the protocol, {@link McpSessionRegistry} keeps the sessions.
 */
@ApiTags('mcp')
@ApiBearerAuth()
@ApiErrors('UNAUTHORIZED', 'INTERNAL')
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('mcp')
export class McpController {
  constructor(private readonly sessions: McpSessionRegistry) {}

  @Post()
  @ApiOperation({
    summary: 'MCP messages (JSON-RPC) from the client',
    description:
      '`initialize` (without `Mcp-Session-Id`) opens a session; then `tools/list` gives one tool per agent (name, description, ' +
      '`inputSchema`) and `tools/call` runs the agent for the caller: the result as text (plus `structuredContent` for an ' +
      'object), `isError` for a failed run, `_meta.runId` / `_meta.threadId` naming the run. `_meta.threadId` of the call ' +
      'continues a thread; `_meta.progressToken` streams every event as a progress notification; a cancellation ' +
      'notification cancels the run. Answers JSON or Server-Sent Events, as Streamable HTTP says.',
  })
  @ApiHeader(SESSION_HEADER)
  @ApiBody({ description: 'A JSON-RPC message or batch.', schema: { type: 'object' } })
  @ApiResponse({ status: 200, description: 'JSON-RPC answers, as JSON or `text/event-stream`.' })
  @ApiResponse({ status: 404, description: "Unknown (or another user's) session: start a new one." })
  post(@CurrentUser() userId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.sessions.handle(userId, req, res);
  }

  @Get()
  @ApiOperation({ summary: "The session's stream of server messages (Server-Sent Events)" })
  @ApiHeader({ ...SESSION_HEADER, required: true })
  @ApiResponse({ status: 200, description: '`text/event-stream` of JSON-RPC messages.' })
  stream(@CurrentUser() userId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.sessions.handle(userId, req, res);
  }

  @Delete()
  @ApiOperation({ summary: 'End the session' })
  @ApiHeader({ ...SESSION_HEADER, required: true })
  @ApiResponse({ status: 200, description: 'The session is closed.' })
  end(@CurrentUser() userId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.sessions.handle(userId, req, res);
  }
}
