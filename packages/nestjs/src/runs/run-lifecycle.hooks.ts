import { Injectable, Logger } from '@nestjs/common';
import type { AgentResumedData } from '@agent-pipeline/protocol';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import type { RunTraceIds } from '../observability/tracing/run-observation';

/** The identity of a run, as lifecycle observers see it. */
export interface RunLifecycleInfo {
  readonly runId: string;
  readonly userId: string;
  readonly agent: string;
  readonly threadId: string;
  /** The ids of the run's span, when tracing is on (for log lines: `trace_id`, `span_id`). */
  readonly trace?: RunTraceIds;
}

/**
 * Something outside the pipeline that wants to know when runs start and end on this node
 * (metrics, logs, audit). Both methods are optional and are called synchronously: keep them cheap.
 */
export interface RunLifecycleObserver {
  /** The run is stored and about to execute. */
  runStarted?(run: RunLifecycleInfo): void;
  /** The run's terminal event is stored and published. */
  runEnded?(run: RunLifecycleInfo, ending: RunEnding): void;
  /** A queued run left its thread's queue to start on this node, after waiting `waitedMs`. */
  runDequeued?(run: RunLifecycleInfo, waitedMs: number): void;
  /** A durable run that lost its node goes on here: its `agent_resumed` is out. */
  runResumed?(run: RunLifecycleInfo, resumed: AgentResumedData): void;
}

/**
 * Where observers register for run starts and ends. `AgentService` reports to it once per run
 * and per transition, so observers cost nothing per event. A failing observer is logged and
 * never disturbs the run or the other observers.
 */
@Injectable()
export class RunLifecycleHooks {
  private readonly logger = new Logger(RunLifecycleHooks.name);
  private readonly observers = new Set<RunLifecycleObserver>();

  /** Adds an observer; returns the function that removes it. */
  observe(observer: RunLifecycleObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** @internal Called by `AgentService`. */
  started(run: RunLifecycleInfo): void {
    for (const observer of this.observers) this.call(run, () => observer.runStarted?.(run));
  }

  /** @internal Called by `AgentService`. */
  ended(run: RunLifecycleInfo, ending: RunEnding): void {
    for (const observer of this.observers) this.call(run, () => observer.runEnded?.(run, ending));
  }

  /** @internal Called by the thread queue when this node starts a queued run. */
  dequeued(run: RunLifecycleInfo, waitedMs: number): void {
    for (const observer of this.observers) this.call(run, () => observer.runDequeued?.(run, waitedMs));
  }

  /** @internal Called by the resumer when a resumed run goes on. */
  resumed(run: RunLifecycleInfo, data: AgentResumedData): void {
    for (const observer of this.observers) this.call(run, () => observer.runResumed?.(run, data));
  }

  private call(run: RunLifecycleInfo, notify: () => void): void {
    try {
      notify();
    } catch (err) {
      this.logger.error({ msg: `Run lifecycle observer failed: ${(err as Error)?.message}`, runId: run.runId, userId: run.userId });
    }
  }
}
