import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BearerAuthGuard } from '../../auth/bearer-auth.guard';
import { AgentService } from '../../runs/agent.service';
import { ApiErrors } from './api-errors.decorator';
import { AgentDto } from './dto/agent.dto';
import { PipelineHttpRoutes } from './pipeline-http.decorator';

/** `GET /agents`: the agents a run can be started with. */
@ApiTags('agents')
@ApiBearerAuth()
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentService) {}

  @Get()
  @ApiOperation({ summary: 'The registered agents' })
  @ApiOkResponse({ type: [AgentDto] })
  @ApiErrors('UNAUTHORIZED', 'INTERNAL')
  list(): AgentDto[] {
    return this.agents.listAgents();
  }
}
