import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BearerAuthGuard } from '../../../auth/bearer-auth.guard';
import { CurrentUser } from '../../../auth/current-user.decorator';
import { UsageReports } from '../../../usage/usage-report.service';
import { ApiErrors } from '../api-errors.decorator';
import { PipelineHttpRoutes } from '../pipeline-http.decorator';
import { UsageQueryDto, UsageReportDto } from './usage.dto';

/** The caller's model usage and daily budget over REST. */
@ApiTags('usage')
@ApiBearerAuth()
@ApiErrors('UNAUTHORIZED', 'INTERNAL')
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('usage')
export class UsageController {
  constructor(private readonly reports: UsageReports) {}

  @Get()
  @ApiOperation({
    summary: "The caller's model tokens per UTC day, agent and model, and the daily budget",
    description:
      "Every model call of the caller's runs, summed per UTC day (`YYYY-MM-DD`), agent and model, from `from` to `to` " +
      '(inclusive; default the last 30 days, at most 366). `budget.usedToday` is what counts toward MAX_TOKENS_PER_USER_PER_DAY.',
  })
  @ApiOkResponse({ type: UsageReportDto })
  @ApiErrors('VALIDATION_FAILED')
  report(@CurrentUser() userId: string, @Query() query: UsageQueryDto): Promise<UsageReportDto> {
    return this.reports.report(userId, { from: query.from, to: query.to });
  }
}
