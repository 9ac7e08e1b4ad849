/** What a node answers when asked to cancel a run it may be executing. */
export type RemoteCancelResult = 'cancelled' | 'finished' | 'not-here';

/**
 * Carries commands to the node that executes a run. On one node there is nobody else to ask;
 * the Redis implementation (scale-out) replaces this one.
 */
export class RunCommandBus {
  /** Asks the other nodes to cancel a run; resolves how the owning node answered. */
  async cancelElsewhere(_runId: string, _reason: string): Promise<RemoteCancelResult> {
    return 'not-here';
  }
}
