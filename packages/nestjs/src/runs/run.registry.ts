import { Injectable } from '@nestjs/common';
import type { RequestScopedOrchestrator } from '../execution/request-scoped.orchestrator';

/** A run executing on this node. */
export interface ActiveRun {
  readonly runId: string;
  readonly userId: string;
  readonly agent: string;
  readonly threadId: string;
  /** Set once the run's DI subtree exists; absent while the run is being created. */
  orchestrator?: RequestScopedOrchestrator;
}

/**
 * The runs executing on this node. The per-user active count is derived from it (there is no
 * separate counter to drift), and entries leave when their run ends, so nothing outlives a run.
 */
@Injectable()
export class RunRegistry {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly byUser = new Map<string, Set<string>>();

  /** Adds a run (still being created or already executing). */
  add(run: ActiveRun): void {
    this.runs.set(run.runId, run);
    let set = this.byUser.get(run.userId);
    if (!set) {
      set = new Set();
      this.byUser.set(run.userId, set);
    }
    set.add(run.runId);
  }

  remove(runId: string): void {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    const set = this.byUser.get(run.userId);
    set?.delete(runId);
    if (set && set.size === 0) this.byUser.delete(run.userId);
  }

  get(runId: string): ActiveRun | undefined {
    return this.runs.get(runId);
  }

  /**
   * The orchestrator of a run of this node, waiting up to `timeoutMs` while the run is still being
   * created; undefined when the run is not (or no longer) here.
   */
  async orchestratorSoon(runId: string, timeoutMs = 2000): Promise<RequestScopedOrchestrator | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = this.runs.get(runId);
      if (!run || run.orchestrator || Date.now() >= deadline) return run?.orchestrator;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Runs of one user on this node, including runs still being created. */
  countForUser(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  /** Runs of this node waiting on a question to their user (read at scrape time, never counted). */
  countWaiting(): number {
    let n = 0;
    for (const run of this.runs.values()) if (run.orchestrator?.pendingInterrupt) n++;
    return n;
  }

  get size(): number {
    return this.runs.size;
  }

  all(): ActiveRun[] {
    return [...this.runs.values()];
  }
}
