import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RUN_STORE } from '../../pipeline';
import type { RunStore } from '../../pipeline';

/** `GET /health`: 200 when the process and the run store answer. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(@Inject(RUN_STORE) private readonly store: RunStore) {}

  @Get()
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness and readiness: the process and the run store answer.' })
  async check(): Promise<{ status: 'ok'; store: 'up' }> {
    try {
      await this.store.ping();
    } catch {
      throw new ServiceUnavailableException('The run store does not answer.');
    }
    return { status: 'ok', store: 'up' };
  }
}
