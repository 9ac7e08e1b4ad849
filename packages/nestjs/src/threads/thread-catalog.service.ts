import { Inject, Injectable } from '@nestjs/common';
import { PipelineError } from '../errors/pipeline.error';
import { RUN_STORE } from '../pipeline.tokens';
import { RunRegistry } from '../runs/run.registry';
import { decodeCursor, pageOf, type Page } from '../store/list-cursor';
import { RunDeletionHooks } from '../store/run-deletion.hooks';
import type { RunRecord, RunStore } from '../store/run-store.interface';
import { threadTitle } from './thread-title';
import type { ThreadInfo } from '@agent-pipeline/protocol';

export type { ThreadInfo };

/** A thread with its runs, oldest first. */
export interface ThreadDetail {
  threadId: string;
  runs: RunRecord[];
}

/** The longest thread id the store keeps (`runs.thread_id`). */
const MAX_THREAD_ID_LENGTH = 256;

/**
 * A user's conversations: the threads of their runs, listed, read and deleted. A thread belongs to
 * its user: another user's thread of the same id is a different thread, and to anyone but its
 * owner a thread does not exist (`THREAD_NOT_FOUND`, never `THREAD_BUSY`).
 */
@Injectable()
export class ThreadCatalog {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly registry: RunRegistry,
    private readonly deletions: RunDeletionHooks,
  ) {}

  /** A page of the user's threads, the most recently active first; `before` is a previous page's `next`. */
  async listThreads(userId: string, query: { limit: number; before?: string }): Promise<Page<ThreadInfo>> {
    const before = query.before === undefined ? undefined : decodeCursor(query.before);
    const rows = await this.store.listThreads(userId, { limit: query.limit + 1, before });
    const page = pageOf(rows, query.limit, (t) => ({ createdAt: t.lastRunAt, runId: t.lastRunId }));
    return {
      next: page.next,
      items: page.items.map((t) => ({
        threadId: t.threadId,
        title: threadTitle(t.firstInput),
        agent: t.agent,
        runs: t.runs,
        lastRunAt: t.lastRunAt,
        lastStatus: t.lastStatus,
      })),
    };
  }

  /** The user's thread with its runs, oldest first; `THREAD_NOT_FOUND` when the user has no run on it. */
  async getThread(userId: string, threadId: string): Promise<ThreadDetail> {
    if (!isThreadId(threadId)) throw PipelineError.threadNotFound(String(threadId));
    const runs = await this.store.threadRuns(userId, threadId);
    if (runs.length === 0) throw PipelineError.threadNotFound(threadId);
    return { threadId, runs };
  }

  /**
   * Deletes the user's thread for good: its runs and their events, in one store transaction (the
   * assistant's memory is read from them, so it goes too). `THREAD_BUSY` while a run of it is in
   * flight (queued, executing, or still being created on this node); `THREAD_NOT_FOUND` when the
   * user has no run on it.
   */
  async deleteThread(userId: string, threadId: string): Promise<void> {
    if (!isThreadId(threadId)) throw PipelineError.threadNotFound(String(threadId));
    // The per-user thread transaction: a start on this thread (which takes the same one) comes
    // wholly before the delete, and makes it THREAD_BUSY, or wholly after, on an empty thread. A run
    // that has just ended counts as ended: the store writes its buffered terminal event first.
    const deleted = await this.store.withThread(userId, threadId, async (tx) => {
      const inFlight = (await tx.inFlight()).map((r) => r.runId);
      // Runs of this node not stored yet (being created) are in flight too.
      for (const r of this.registry.all()) {
        if (r.userId === userId && r.threadId === threadId && !inFlight.includes(r.runId)) inFlight.push(r.runId);
      }
      if (inFlight.length > 0) throw busy(threadId, inFlight);
      return tx.deleteAll();
    });
    if (deleted === 0) throw PipelineError.threadNotFound(threadId);
    this.deletions.deleted(deleted, 'thread_deleted');
  }
}

function isThreadId(threadId: unknown): threadId is string {
  return typeof threadId === 'string' && threadId.length > 0 && threadId.length <= MAX_THREAD_ID_LENGTH;
}

function busy(threadId: string, inFlight: string[]): PipelineError {
  return new PipelineError(
    'THREAD_BUSY',
    `Thread '${threadId}' cannot be deleted while ${inFlight.length} run(s) of it are in flight (run '${inFlight[0]}'). ` +
      'Cancel them or wait for them to end, then delete again.',
    { threadId, inFlight },
  );
}
