import { RunJournal } from '../durable/run-journal';
import type { UserExecutionContext } from './user-execution.context';

/**
 * The REQUEST object of a run's DI context. Agents and their providers see it as the read-only
 * {@link UserExecutionContext}; only the orchestrator aborts it.
 */
export class RunExecutionContext implements UserExecutionContext {
  private readonly controller = new AbortController();
  readonly startedAt: number;

  constructor(
    readonly userId: string,
    readonly runId: string,
    readonly threadId: string,
    readonly agent: string,
    readonly input: unknown,
    /** @internal The run's durability: whether it is durable, and what its earlier attempts recorded. */
    readonly journal: RunJournal = new RunJournal(false),
    /** When the run was created; for a resumed run, its first attempt's start. */
    startedAt: number = Date.now(),
    /** The W3C trace context the run continues (stored with it), when it has one. */
    readonly traceparent?: string,
  ) {
    this.startedAt = startedAt;
  }

  /**
   * Aborted on cancel, timeout and shutdown. Node makes a controller's signal at its first read (about
   * 5 µs: it is an EventTarget), and most runs end without anybody reading it.
   */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** @internal Aborts the run's signal; used by the orchestrator on cancel, timeout and shutdown. */
  abort(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
