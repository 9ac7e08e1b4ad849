import { Injectable } from '@nestjs/common';
import type { AgentEventEnvelope } from '../events/agent-event.types';

export type RunEventListener = (event: AgentEventEnvelope) => void;

/**
 * In-process fan-out of events by run id, for followers on this node (SSE streams, `wait` mode).
 * Listener sets are removed with their last listener, so finished runs leave nothing behind.
 */
@Injectable()
export class RunEventBus {
  private readonly listeners = new Map<string, Set<RunEventListener>>();

  /** Follows a run's events; returns the function that stops following. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(runId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(runId);
    };
  }

  publish(event: AgentEventEnvelope): void {
    const set = this.listeners.get(event.runId);
    if (!set) return;
    for (const listener of [...set]) listener(event);
  }

  /** Number of runs with followers (for leak checks and metrics). */
  get followedRuns(): number {
    return this.listeners.size;
  }
}
