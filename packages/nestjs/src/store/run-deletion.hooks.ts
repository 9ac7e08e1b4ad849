import { Injectable } from '@nestjs/common';

/** Why runs left the store. */
export type RunDeletionReason = 'retention' | 'thread_deleted';

/** Told how many runs were deleted, and why (metrics count them). */
export type RunDeletionListener = (count: number, reason: RunDeletionReason) => void;

/**
 * Where the services that delete runs report it, so that observers (metrics) need not depend on
 * them. A listener that throws is ignored: deletion has happened either way.
 */
@Injectable()
export class RunDeletionHooks {
  private readonly listeners = new Set<RunDeletionListener>();

  /** Calls `listener` after each deletion; returns the function that stops it. */
  observe(listener: RunDeletionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal Reported by the deleting services. */
  deleted(count: number, reason: RunDeletionReason): void {
    if (count <= 0) return;
    for (const listener of this.listeners) {
      try {
        listener(count, reason);
      } catch {
        // An observer's failure is not the deleter's.
      }
    }
  }
}
