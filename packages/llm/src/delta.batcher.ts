import { performance } from 'node:perf_hooks';
import { abortableSleep } from '@agent-pipeline/nestjs';

/**
 * Turns a stream of text pieces into `agent_message_delta` events, at most `maxEventsPerSecond`
 * of them per run: a piece goes out at once when the last event is at least `1000 / rate` ms old,
 * otherwise it waits (joined with the pieces after it) until that much time has passed. Under the
 * rate nothing is delayed; above it, pieces are batched only as much as the rate requires.
 *
 * One instance per run; call {@link flush} before a new message starts and before the run ends.
 */
export class DeltaBatcher {
  private readonly minIntervalMs: number;
  private pending?: { messageId: string; text: string };
  private lastSentAt = -Infinity;
  private timer?: NodeJS.Timeout;

  /**
   * @param send Emits one event (the agent's `notifier.messageDelta`).
   * @param signal The run's signal: once it aborts, nothing more is sent.
   * @param now A monotonic clock in ms; tests pass a fake one.
   */
  constructor(
    private readonly send: (messageId: string, delta: string) => void,
    maxEventsPerSecond: number,
    private readonly signal: AbortSignal,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.minIntervalMs = 1000 / maxEventsPerSecond;
  }

  /** Queues a piece of message `messageId`; sends it now if the rate allows. */
  push(messageId: string, text: string): void {
    if (text === '' || this.signal.aborted) return;
    // Pieces of two messages never share an event; flush() is the way to switch, this is a safety net.
    if (this.pending && this.pending.messageId !== messageId) this.sendPending();
    if (this.pending) this.pending.text += text;
    else this.pending = { messageId, text };
    if (this.timer) return;
    const wait = this.waitMs();
    if (wait <= 0) {
      this.sendPending();
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.sendPending();
      }, wait);
    }
  }

  /** Sends whatever is queued, as soon as the rate allows. Rejects with `AbortError` on abort. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const wait = this.waitMs();
    if (wait > 0) await abortableSleep(wait, this.signal);
    this.sendPending();
  }

  /** Drops what is queued and stops the timer (the run is over). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private waitMs(): number {
    return this.lastSentAt + this.minIntervalMs - this.now();
  }

  private sendPending(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending || this.signal.aborted) return;
    this.lastSentAt = this.now();
    this.send(pending.messageId, pending.text);
  }
}
