import { Injectable } from '@nestjs/common';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';

export type RunEventListener = (event: AgentEventEnvelope) => void;

/**
 * In-process fan-out of events by run id, for followers on this node (SSE streams, `wait` mode).
 * Listener sets are removed with their last listener, so finished runs leave nothing behind.
 */
@Injectable()
export class RunEventBus {
  private readonly listeners = new Map<string, Set<RunEventListener>>();
  private readonly everyRunListeners = new Set<RunEventListener>();

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

  /**
   * Follows the events of every run on this node (metrics, audit); returns the function that stops
   * following. It runs on the hot path of every event: listeners must be cheap and must not throw.
   */
  subscribeAll(listener: RunEventListener): () => void {
    this.everyRunListeners.add(listener);
    return () => this.everyRunListeners.delete(listener);
  }

  publish(event: AgentEventEnvelope): void {
    for (const listener of this.everyRunListeners) listener(event);
    const set = this.listeners.get(event.runId);
    if (!set) return;
    // No copy per event: a Set iterates safely while a listener unsubscribes itself.
    for (const listener of set) listener(event);
  }

  /** Number of runs with followers (for leak checks and metrics). */
  get followedRuns(): number {
    return this.listeners.size;
  }
}
