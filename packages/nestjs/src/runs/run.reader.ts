import { Inject, Injectable } from '@nestjs/common';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { PipelineError } from '../errors/pipeline.error';
import { InterruptAnswerRouter } from '../interrupts/interrupt-answer.router';
import { RUN_STORE } from '../pipeline.tokens';
import { decodeCursor, pageOf, type Page } from '../store/list-cursor';
import type { ListRunsQuery, RunRecord, RunStore } from '../store/run-store.interface';
import { ThreadPolicy } from '../threads/thread-policy.service';
import type { DescribedRun } from './agent.service';
import { RunRegistry } from './run.registry';

/** The reads of {@link AgentService}: a user's runs, their place and question, their stored events. */
@Injectable()
export class RunReader {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly registry: RunRegistry,
    private readonly interrupts: InterruptAnswerRouter,
    private readonly threads: ThreadPolicy,
  ) {}

  /** See {@link AgentService.getRun}. */
  async getRun(userId: string, runId: string): Promise<RunRecord> {
    const run = typeof runId === 'string' && runId.length <= 64 ? await this.store.getRun(runId) : undefined;
    if (!run || run.userId !== userId) throw PipelineError.runNotFound(String(runId));
    return run;
  }

  /** See {@link AgentService.describeRun}. */
  async describeRun(userId: string, runId: string): Promise<DescribedRun> {
    const run = await this.getRun(userId, runId);
    if (run.status === 'waiting') {
      const interrupt = this.registry.get(runId)?.orchestrator?.pendingInterrupt ?? (await this.interrupts.openInterrupt(run));
      return interrupt ? { ...run, interrupt } : run;
    }
    const place = await this.threads.queuePlace(run);
    return place ? { ...run, ...place } : run;
  }

  /** See {@link AgentService.listRuns}. */
  async listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]> {
    return this.store.listRuns(userId, query);
  }

  /** See {@link AgentService.pageRuns}. */
  async pageRuns(userId: string, query: Omit<ListRunsQuery, 'before'> & { before?: string }): Promise<Page<RunRecord>> {
    const before = query.before === undefined ? undefined : decodeCursor(query.before);
    const rows = await this.listRuns(userId, { ...query, before, limit: query.limit + 1 });
    return pageOf(rows, query.limit, (r) => ({ createdAt: r.createdAt, runId: r.runId }));
  }

  /** See {@link AgentService.replay}. */
  async replay(userId: string, runId: string, afterSeq = 0, limit?: number): Promise<{ run: RunRecord; events: AgentEventEnvelope[] }> {
    const events = await this.store.getEvents(runId, afterSeq, limit);
    // The owner check comes after the read (one query fewer) but before anything is returned.
    const run = await this.getRun(userId, runId);
    // lastSeq describes what was replayed: events stored after the read above come live, not here.
    const lastSeq = events.length > 0 ? events[events.length - 1].seq : Math.min(run.lastSeq, afterSeq);
    return { run: { ...run, lastSeq }, events };
  }
}
