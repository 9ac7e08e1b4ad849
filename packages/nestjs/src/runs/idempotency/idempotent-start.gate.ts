import { Injectable } from '@nestjs/common';

/**
 * Lines up the starts of this node that carry the same user's idempotency key: each begins once
 * the one before it has been answered (or refused), so the later ones find its run and replay it
 * instead of racing it. Starts on other nodes are lined up by the store (see `RunStore.createIdempotentRun`).
 * Nothing stays behind once a key's last start is answered.
 */
@Injectable()
export class IdempotentStartGate {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` after every earlier call for the same user and key has settled. */
  serialize<T>(userId: string, key: string, work: () => Promise<T>): Promise<T> {
    const id = JSON.stringify([userId, key]);
    const before = this.tails.get(id) ?? Promise.resolve();
    const result = before.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return result;
  }

  /** Keys with a start in progress (for tests: nothing may be left once every start is answered). */
  get size(): number {
    return this.tails.size;
  }
}
