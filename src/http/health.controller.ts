import { Controller, Get, OnModuleInit, Res, ServiceUnavailableException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { AgentPipelineHealthIndicator, type PipelineHealthResult } from '@agent-pipeline/nestjs';
import { McpHealthIndicator } from '@agent-pipeline/llm';

/**
 * `GET /health`: 200 when the process and every registered dependency (store; Redis when set; the
 * JWKS key set with `JWT_JWKS_URL`) answer, else 503. With `LLM_MCP_SERVERS`, `mcp` shows each
 * MCP server of the assistant (a server down does not make the node unhealthy).
 */
@ApiTags('health')
@Controller('health')
export class HealthController implements OnModuleInit {
  private mcp?: McpHealthIndicator;

  constructor(
    private readonly health: HealthCheckService,
    private readonly pipeline: AgentPipelineHealthIndicator,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    // The assistant's module is imported only with LLM_BASE_URL.
    try {
      this.mcp = this.moduleRef.get(McpHealthIndicator, { strict: false });
    } catch {
      this.mcp = undefined;
    }
  }

  @Get()
  // Documents the 200 and 503 answers and turns caching off.
  @HealthCheck()
  @ApiOperation({
    summary: 'Liveness and readiness: the process, the run store, (when set) Redis and (with JWT_JWKS_URL) the signing key set answer.',
  })
  async check(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      const mcp = this.mcp;
      const checks: Array<() => Promise<PipelineHealthResult> | PipelineHealthResult> = [() => this.pipeline.isHealthy()];
      if (mcp) checks.push(() => mcp.isHealthy());
      return await this.health.check(checks);
    } catch (err) {
      // Terminus reports "down" as a 503 exception; its body is the useful answer, so send it as is.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      res.status(503);
      return err.getResponse() as HealthCheckResult;
    }
  }
}
