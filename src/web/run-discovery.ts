/**
 * Tells the page about runs of its user that it did not start and does not show yet (started
 * in another tab, over HTTP, AG-UI, the AI SDK or MCP), from the events the socket receives.
 * A start of this page's own is only known by its id once acked, and its first events may come
 * before that ack: while a start is unanswered, new run ids are held and decided once it settles.
 */
import type { AnyAgentEvent } from '@agent-pipeline/protocol';

/** Finds runs the page does not know yet. */
export class RunDiscovery {
  private readonly known = new Set<string>();
  private readonly held = new Map<string, AnyAgentEvent>();
  private startsPending = 0;

  /** @param found Called once per run that is neither the page's own nor already shown, with its first event seen. */
  constructor(private readonly found: (event: AnyAgentEvent) => void) {}

  /** A run the page shows already (its own start, a thread or the history it opened). */
  know(runId: string): void {
    this.known.add(runId);
    this.held.delete(runId);
  }

  /** The page sends a start. */
  startBegan(): void {
    this.startsPending++;
  }

  /** The start was answered: with its run id, or refused (no run). */
  startSettled(runId?: string): void {
    if (runId !== undefined) this.know(runId);
    this.startsPending = Math.max(0, this.startsPending - 1);
    if (this.startsPending > 0) return;
    const held = [...this.held.values()];
    this.held.clear();
    for (const event of held) this.discover(event);
  }

  /** Takes every event the socket receives. */
  observe(event: AnyAgentEvent): void {
    if (this.known.has(event.runId) || this.held.has(event.runId)) return;
    if (this.startsPending > 0) this.held.set(event.runId, event);
    else this.discover(event);
  }

  private discover(event: AnyAgentEvent): void {
    if (this.known.has(event.runId)) return;
    this.known.add(event.runId);
    this.found(event);
  }
}
