/**
 * What each of the user's threads is doing right now, as the page learns it from the events
 * every socket of the user receives (runs started in this tab, another tab, over HTTP, AG-UI,
 * the AI SDK or MCP alike): `running`, `waiting` for the user's answer, or nothing. No DOM here.
 */
import type { AnyAgentEvent, RunStatus } from '@agent-pipeline/protocol';

/** A thread's activity: a run of it is going, or one waits for the user's answer. */
export type ThreadActivity = 'running' | 'waiting' | undefined;

const TERMINAL = new Set<string>(['agent_completed', 'agent_error', 'agent_cancelled']);

/** Follows every run's state from its events and sums it up per thread. */
export class RunActivity {
  private readonly runs = new Map<string, { threadId: string; state: 'running' | 'waiting'; seq: number }>();
  /** Runs seen ending: a replayed copy of one of their earlier events must not revive them. */
  private readonly ended = new Set<string>();

  /** Takes one event (repeats and replayed copies included); returns the thread whose activity may have changed. */
  observe(event: AnyAgentEvent): string {
    const known = this.runs.get(event.runId);
    if (this.ended.has(event.runId) || (known && event.seq <= known.seq)) return event.threadId;
    if (TERMINAL.has(event.type)) {
      this.runs.delete(event.runId);
      this.ended.add(event.runId);
    } else {
      const state = event.type === 'interrupt_requested' ? 'waiting' : 'running';
      this.runs.set(event.runId, { threadId: event.threadId, state, seq: event.seq });
    }
    return event.threadId;
  }

  /** Whether the event ends its run. */
  static ends(event: AnyAgentEvent): boolean {
    return TERMINAL.has(event.type);
  }

  /**
   * The thread's activity: from the runs seen live, else from the status of its latest run as the
   * thread list last reported it (a run that started before the page opened).
   */
  of(threadId: string, lastStatus?: RunStatus): ThreadActivity {
    let running = false;
    for (const run of this.runs.values()) {
      if (run.threadId !== threadId) continue;
      if (run.state === 'waiting') return 'waiting';
      running = true;
    }
    if (running) return 'running';
    if (lastStatus === 'waiting') return 'waiting';
    return lastStatus === 'running' || lastStatus === 'queued' ? 'running' : undefined;
  }
}
