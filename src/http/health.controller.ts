import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { AgentPipelineHealthIndicator } from '@agent-pipeline/nestjs';

/**
 * `GET /health`: 200 when the process and every registered dependency (store; Redis when set; the
 * JWKS key set with `JWT_JWKS_URL`) answer, else 503.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly pipeline: AgentPipelineHealthIndicator,
  ) {}

  @Get()
  // Documents the 200 and 503 answers and turns caching off.
  @HealthCheck()
  @ApiOperation({
    summary: 'Liveness and readiness: the process, the run store, (when set) Redis and (with JWT_JWKS_URL) the signing key set answer.',
  })
  async check(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.pipeline.isHealthy()]);
    } catch (err) {
      // Terminus reports "down" as a 503 exception; its body is the useful answer, so send it as is.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      res.status(503);
      return err.getResponse() as HealthCheckResult;
    }
  }
}
