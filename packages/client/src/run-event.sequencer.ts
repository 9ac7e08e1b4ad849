import { AGENT_EVENT_TYPES, isTerminalEventType, type AnyAgentEvent } from '@agent-pipeline/protocol';

/**
 * Puts one run's events in order and drops copies: whatever order and however many times events
 * arrive (live, re-sent by connection state recovery, replayed after a reconnect), it releases
 * each `seq` exactly once, strictly as `last + 1`. Later events wait until the gap before them is
 * filled. Nothing is released after the terminal event.
 */
export class RunEventSequencer {
  private last: number;
  private readonly waiting = new Map<number, AnyAgentEvent>();
  private terminal = false;

  /**
   * @param runId The run whose events this sequencer accepts; others are ignored.
   * @param afterSeq Events up to this seq count as already seen. @default 0
   */
  constructor(
    readonly runId: string,
    afterSeq = 0,
  ) {
    this.last = afterSeq;
  }

  /** The seq of the last event released (0 before any). */
  get lastSeq(): number {
    return this.last;
  }

  /** Whether the terminal event was released. */
  get ended(): boolean {
    return this.terminal;
  }

  /** Whether events are waiting for an earlier one that has not arrived. */
  get hasGap(): boolean {
    return this.waiting.size > 0;
  }

  /**
   * Takes one event; returns the events it makes deliverable, in order (often just this one;
   * none for a copy or an event that must wait).
   */
  accept(event: AnyAgentEvent): AnyAgentEvent[] {
    if (this.terminal || event.runId !== this.runId || event.seq <= this.last || this.waiting.has(event.seq)) return [];
    this.waiting.set(event.seq, event);
    const ready: AnyAgentEvent[] = [];
    for (let next = this.waiting.get(this.last + 1); next; next = this.waiting.get(this.last + 1)) {
      this.waiting.delete(next.seq);
      this.last = next.seq;
      ready.push(next);
      if (isTerminalEventType(next.type)) {
        this.terminal = true;
        this.waiting.clear();
        break;
      }
    }
    return ready;
  }

  /**
   * Takes the run's terminal event although its seq is at or below `lastSeq`. That happens only
   * when a server was killed after sending events it had not yet stored: at restart it writes the
   * terminal `INTERRUPTED` event after the last event it did store. The event is returned as
   * stored (its seq is the server's), to be delivered as the run's last; nothing is accepted after it.
   */
  adoptTerminal(event: AnyAgentEvent): AnyAgentEvent | undefined {
    if (this.terminal || event.runId !== this.runId || !isTerminalEventType(event.type)) return undefined;
    this.terminal = true;
    this.waiting.clear();
    return event;
  }
}

/** Tells whether `value` looks like an event envelope (the server is trusted, the network less so). */
export function isAgentEvent(value: unknown): value is AnyAgentEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<AnyAgentEvent>;
  return (
    typeof e.runId === 'string' &&
    typeof e.seq === 'number' &&
    Number.isInteger(e.seq) &&
    e.seq >= 1 &&
    typeof e.type === 'string' &&
    AGENT_EVENT_TYPES.includes(e.type) &&
    typeof e.data === 'object' &&
    e.data !== null
  );
}
