import type { InterruptResolution, ErrorBody, InterruptAnswer } from '@agent-pipeline/protocol';

/** What a node answers when asked to cancel a run it may be executing. */
export type RemoteCancelResult = 'cancelled' | 'finished' | 'not-here';

/** What the node executing a run answers to an answer of one of its interrupts. */
export type RemoteResumeResult =
  | { kind: 'resolved'; resolution: InterruptResolution }
  /** Refused there: `INTERRUPT_NOT_FOUND`, `INTERRUPT_RESOLVED`, `VALIDATION_FAILED`. */
  | { kind: 'refused'; error: ErrorBody }
  | { kind: 'not-here' };

/** An answer to a run's interrupt, on its way to the node that executes the run. */
export interface RemoteResume {
  userId: string;
  runId: string;
  interruptId: string;
  answer: InterruptAnswer;
}

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

  /** Hands an interrupt's answer to the node that executes the run; resolves with how it went there. */
  async resumeElsewhere(_resume: RemoteResume): Promise<RemoteResumeResult> {
    return { kind: 'not-here' };
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
