/**
 * A single-consumer async iterable fed by pushes: items wait in memory until the consumer pulls
 * them; `end()` finishes the iteration after the items already pushed; `fail()` makes the next
 * pull throw (after the items already pushed). Breaking out of `for await` calls `onReturn`.
 */
export class AsyncEventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private pull?: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void };
  private closed = false;
  private failure?: { error: unknown };
  private iterated = false;

  constructor(private readonly onReturn: () => void = () => undefined) {}

  /** Whether `end()`, `fail()` or `return()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.pull) {
      const { resolve } = this.pull;
      this.pull = undefined;
      resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.settlePull();
  }

  fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = { error };
    this.settlePull();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.pull) return Promise.reject(new Error('AsyncEventQueue: next() called again before the previous call settled.'));
    return new Promise((resolve, reject) => (this.pull = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.closed;
    this.closed = true;
    this.items.length = 0;
    this.failure = undefined;
    this.settlePull();
    if (wasOpen) this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    if (this.iterated) throw new Error('A run can be iterated once: keep the events you need, or follow the run again.');
    this.iterated = true;
    return this;
  }

  private settlePull(): void {
    if (!this.pull || this.items.length > 0) return;
    const { resolve, reject } = this.pull;
    this.pull = undefined;
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      reject(error);
    } else {
      resolve({ value: undefined, done: true });
    }
  }
}
