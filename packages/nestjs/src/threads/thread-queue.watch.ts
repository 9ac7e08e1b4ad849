import { Injectable } from '@nestjs/common';

/**
 * Which threads' queues this node looks at, shared by the admission (which marks and forgets them
 * inside the thread's store transaction), the thread policy and the queue scheduler, so that none
 * of them needs another to know it.
 */
@Injectable()
export class ThreadQueueWatch {
  /**
   * Threads that had a run admitted or started through their queue on this node, and may still
   * have queued runs: only their runs' ends look at the queue. Most runs start a thread of their
   * own and end without costing a store transaction; a queue this node does not know of (its
   * runs were admitted on another node) is found by the sweep.
   */
  private readonly watched = new Set<string>();
  /** Threads whose first queued run waits for a concurrency slot of its user, by user. */
  private readonly waitingForSlot = new Map<string, Set<string>>();

  /** The ends of this thread's runs on this node look at its queue from now on. */
  watch(userId: string, threadId: string): void {
    this.watched.add(threadKey(userId, threadId));
  }

  /** Nothing waits on the thread: its runs' ends cost nothing more. */
  forget(userId: string, threadId: string): void {
    this.watched.delete(threadKey(userId, threadId));
    this.setWaitingForSlot(userId, threadId, false);
  }

  isWatched(userId: string, threadId: string): boolean {
    return this.watched.has(threadKey(userId, threadId));
  }

  /** Marks (or clears) a thread whose first queued run waits for a slot of its user. */
  setWaitingForSlot(userId: string, threadId: string, waiting: boolean): void {
    let threads = this.waitingForSlot.get(userId);
    if (waiting) {
      if (!threads) this.waitingForSlot.set(userId, (threads = new Set()));
      threads.add(threadId);
      return;
    }
    threads?.delete(threadId);
    if (threads?.size === 0) this.waitingForSlot.delete(userId);
  }

  /** The user's threads whose queue waits for one of the user's slots. */
  waitingForSlotOf(userId: string): Iterable<string> {
    return this.waitingForSlot.get(userId) ?? [];
  }
}

function threadKey(userId: string, threadId: string): string {
  return `${userId}\u0000${threadId}`;
}
