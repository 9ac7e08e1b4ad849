/** What a node answers when asked to cancel a run it may be executing. */
export type RemoteCancelResult = 'cancelled' | 'finished' | 'not-here';

/** A run now waits on the thread of `runId`, which executes on another node. */
export interface ThreadWatch {
  userId: string;
  threadId: string;
  /** The run ahead, executing on the node that should watch the thread. */
  runId: string;
}

/**
 * Carries commands to the node that executes a run. On one node there is nobody else to ask;
 * the Redis implementation (scale-out) replaces this one.
 */
export class RunCommandBus {
  private readonly watchListeners = new Set<(watch: ThreadWatch) => void>();

  /** Asks the other nodes to cancel a run; resolves how the owning node answered. */
  async cancelElsewhere(_runId: string, _reason: string): Promise<RemoteCancelResult> {
    return 'not-here';
  }

  /**
   * Tells the node executing `watch.runId` that a run is queued behind it, so that its end starts
   * the thread's queue at once rather than at the next sweep. Fire and forget.
   */
  watchElsewhere(_watch: ThreadWatch): void {
    // One node: the run ahead executes here, and its end already looks at the queue.
  }

  /** Receives the watches other nodes send about runs of this node; returns the function that stops it. */
  onWatch(listener: (watch: ThreadWatch) => void): () => void {
    this.watchListeners.add(listener);
    return () => this.watchListeners.delete(listener);
  }

  /** @internal Hands a watch received from another node to the listeners. */
  protected deliverWatch(watch: ThreadWatch): void {
    for (const listener of this.watchListeners) listener(watch);
  }
}
