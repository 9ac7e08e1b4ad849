import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AgentPipelineMetrics } from '@agent-pipeline/nestjs';

/** `GET /metrics`: Prometheus text exposition of this node's metrics. */
@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: AgentPipelineMetrics) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics: runs, events, sockets and process metrics of this node.' })
  @ApiOkResponse({ description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } })
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    const body = await this.metrics.metrics();
    res.setHeader('Content-Type', this.metrics.contentType);
    return body;
  }
}
