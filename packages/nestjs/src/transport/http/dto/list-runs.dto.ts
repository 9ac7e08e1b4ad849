import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { RUN_STATUSES, type RunStatus } from '@agent-pipeline/protocol';
import { toInt } from './query-transforms';
import { RunDto } from './run.dto';

/** The largest page `GET /runs` serves. */
export const MAX_RUNS_PAGE = 100;
/** The page size of `GET /runs` without `limit`. */
export const DEFAULT_RUNS_PAGE = 20;

/** Query of `GET /runs`. */
export class ListRunsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_RUNS_PAGE, default: DEFAULT_RUNS_PAGE })
  @Transform(toInt)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(MAX_RUNS_PAGE, { message: `limit must be at most ${MAX_RUNS_PAGE} (the largest page)` })
  limit: number = DEFAULT_RUNS_PAGE;

  @ApiPropertyOptional({ enum: RUN_STATUSES, description: 'Only runs in this status.' })
  @IsOptional()
  @IsIn(RUN_STATUSES, { message: `status must be one of ${RUN_STATUSES.join(', ')}` })
  status?: RunStatus;

  @ApiPropertyOptional({ description: 'Only runs of this thread (of the caller).' })
  @IsOptional()
  @IsString({ message: 'threadId must be a string' })
  @Length(1, 256, { message: 'threadId must be 1 to 256 characters' })
  threadId?: string;

  @ApiPropertyOptional({ description: 'The `next` of the previous page; leave out for the first page.' })
  @IsOptional()
  @IsString({ message: 'before must be a string' })
  before?: string;
}

/** Answer of `GET /runs`: the caller's runs, newest first. */
export class RunListDto {
  @ApiProperty({ type: [RunDto] })
  runs: RunDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Pass as `before` for the next page; `null` on the last page. Pages are cut by (createdAt, runId): runs started while paging never shift a page.',
  })
  next: string | null;
}
