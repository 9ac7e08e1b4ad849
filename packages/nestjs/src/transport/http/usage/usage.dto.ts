import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import type { UsageBudget, UsageDay, UsageReport } from '@agent-pipeline/protocol';

/** Query of `GET /usage`. */
export class UsageQueryDto {
  @ApiPropertyOptional({ description: 'First UTC day, `YYYY-MM-DD`. Default: 29 days before `to`.', example: '2026-12-01' })
  @IsOptional()
  @IsString({ message: 'from must be a day written YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({ description: 'Last UTC day, `YYYY-MM-DD` (inclusive). Default: today.', example: '2026-12-03' })
  @IsOptional()
  @IsString({ message: 'to must be a day written YYYY-MM-DD' })
  to?: string;
}

/** One UTC day's tokens of one agent and model. */
export class UsageDayDto implements UsageDay {
  @ApiProperty({ example: '2026-12-03', description: 'UTC day.' })
  day: string;

  @ApiProperty({ example: 'assistant' })
  agent: string;

  @ApiProperty({ example: 'gpt-4o-mini' })
  model: string;

  @ApiProperty({ example: 1200 })
  inputTokens: number;

  @ApiProperty({ example: 300 })
  outputTokens: number;

  @ApiProperty({ example: 4, description: 'Runs that called this model that day.' })
  runs: number;
}

/** The daily budget. */
export class UsageBudgetDto implements UsageBudget {
  @ApiProperty({ example: 100000, description: 'MAX_TOKENS_PER_USER_PER_DAY (input + output tokens); 0 = no budget.' })
  limit: number;

  @ApiProperty({ example: 1500, description: "The caller's input + output tokens of today (UTC), on every node." })
  usedToday: number;
}

/** Answer of `GET /usage`. */
export class UsageReportDto implements UsageReport {
  @ApiProperty({ type: [UsageDayDto], description: 'Oldest day first; within a day by agent, then model.' })
  days: UsageDayDto[];

  @ApiProperty({ type: UsageBudgetDto })
  budget: UsageBudgetDto;
}
