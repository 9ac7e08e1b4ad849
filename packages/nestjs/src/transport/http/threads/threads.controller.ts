import { Controller, Delete, Get, HttpCode, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { BearerAuthGuard } from '../../../auth/bearer-auth.guard';
import { CurrentUser } from '../../../auth/current-user.decorator';
import { ThreadCatalog } from '../../../threads/thread-catalog.service';
import { ApiErrors } from '../api-errors.decorator';
import { toRunDto } from '../dto/run.dto';
import { ListThreadsQueryDto, ThreadDetailDto, ThreadListDto } from './thread.dto';
import { PipelineHttpRoutes } from '../pipeline-http.decorator';

/**
 * The caller's conversations over REST. A thread is the caller's own: another user's thread of
 * the same id is a different one and answers `THREAD_NOT_FOUND` here.
 */
@ApiTags('threads')
@ApiBearerAuth()
@ApiErrors('UNAUTHORIZED', 'INTERNAL')
@UseGuards(BearerAuthGuard)
@PipelineHttpRoutes()
@Controller('threads')
export class ThreadsController {
  constructor(private readonly threads: ThreadCatalog) {}

  @Get()
  @ApiOperation({
    summary: "The caller's threads, most recently active first, a page at a time",
    description: '`next` is the cursor of the following page (pass it as `before`), `null` on the last page.',
  })
  @ApiOkResponse({ type: ThreadListDto })
  @ApiErrors('VALIDATION_FAILED')
  async list(@CurrentUser() userId: string, @Query() query: ListThreadsQueryDto): Promise<ThreadListDto> {
    const page = await this.threads.listThreads(userId, { limit: query.limit, before: query.before });
    return { threads: page.items, next: page.next };
  }

  @Get(':threadId')
  @ApiOperation({ summary: 'One thread of the caller with its runs, oldest first' })
  @ApiParam({ name: 'threadId' })
  @ApiOkResponse({ type: ThreadDetailDto })
  @ApiErrors('THREAD_NOT_FOUND')
  async get(@CurrentUser() userId: string, @Param('threadId') threadId: string): Promise<ThreadDetailDto> {
    const thread = await this.threads.getThread(userId, threadId);
    return { threadId: thread.threadId, runs: thread.runs.map(toRunDto) };
  }

  @Delete(':threadId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete one thread of the caller',
    description:
      "Deletes the thread's runs and their events for good, in one transaction; the assistant's memory of the thread goes with them " +
      '(a new run on the same threadId starts fresh). 409 `THREAD_BUSY` while a run of the thread is in flight.',
  })
  @ApiParam({ name: 'threadId' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors('THREAD_BUSY', 'THREAD_NOT_FOUND')
  async delete(@CurrentUser() userId: string, @Param('threadId') threadId: string): Promise<void> {
    await this.threads.deleteThread(userId, threadId);
  }
}
