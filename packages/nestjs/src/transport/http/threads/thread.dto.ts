import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { RUN_STATUSES, type RunStatus, type ThreadInfo } from '@agent-pipeline/protocol';
import { THREAD_TITLE_MAX_CHARS } from '../../../threads/thread-title';
import { toInt } from '../dto/query-transforms';
import { RunDto } from '../dto/run.dto';

/** The largest page `GET /threads` serves. */
export const MAX_THREADS_PAGE = 100;
/** The page size of `GET /threads` without `limit`. */
export const DEFAULT_THREADS_PAGE = 20;

/** Query of `GET /threads`. */
export class ListThreadsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_THREADS_PAGE, default: DEFAULT_THREADS_PAGE })
  @Transform(toInt)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(MAX_THREADS_PAGE, { message: `limit must be at most ${MAX_THREADS_PAGE} (the largest page)` })
  limit: number = DEFAULT_THREADS_PAGE;

  @ApiPropertyOptional({ description: 'The `next` of the previous page; leave out for the first page.' })
  @IsOptional()
  @IsString({ message: 'before must be a string' })
  before?: string;
}

/** One thread of the caller. */
export class ThreadDto implements ThreadInfo {
  @ApiProperty()
  threadId: string;

  @ApiProperty({ maxLength: THREAD_TITLE_MAX_CHARS, description: "The start of the thread's first input text (empty when it had none)." })
  title: string;

  @ApiProperty({ example: 'assistant', description: "The agent of the thread's latest run." })
  agent: string;

  @ApiProperty({ description: 'How many runs the thread holds.', example: 3 })
  runs: number;

  @ApiProperty({ format: 'date-time', description: "When the thread's latest run was created." })
  lastRunAt: string;

  @ApiProperty({ enum: RUN_STATUSES, description: "The status of the thread's latest run." })
  lastStatus: RunStatus;
}

/** Answer of `GET /threads`: the caller's threads, most recently active first. */
export class ThreadListDto {
  @ApiProperty({ type: [ThreadDto] })
  threads: ThreadDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `before` for the next page; `null` on the last page.' })
  next: string | null;
}

/** Answer of `GET /threads/{threadId}`: the thread's runs, oldest first. */
export class ThreadDetailDto {
  @ApiProperty()
  threadId: string;

  @ApiProperty({ type: [RunDto] })
  runs: RunDto[];
}
