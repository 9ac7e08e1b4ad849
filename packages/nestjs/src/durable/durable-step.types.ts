/** Options of `context.step()`. */
export interface StepOptions {
  /**
   * How many times a throwing `fn` is run again before its error reaches the agent (and, in a
   * durable run, is recorded as the step's outcome).
   * @default 0
   */
  retries?: number;
  /**
   * Wait before the first retry, in ms; it doubles before each further one.
   * @default 1000
   */
  backoffMs?: number;
}

/**
 * Runs `fn` as a named step of the run: once per run in a durable agent (its JSON result is
 * recorded and replayed on resume), with `options.retries` in any agent. See
 * `AgentRunContext.step`.
 */
export type StepFn = <T>(name: string, fn: () => Promise<T> | T, options?: StepOptions) => Promise<T>;

/** A step's outcome as the journal keeps it. */
export interface StepRecord {
  runId: string;
  name: string;
  /** The run's seq once the step had ended: what the run had emitted up to then. */
  seq: number;
  /** The run's `agent_thinking` step counter at that moment. */
  thinkingStep: number;
  /** The result as JSON text; undefined when `fn` resolved `undefined` (or failed). */
  result?: string;
  /** The final error, when `fn` failed every try. */
  error?: { name: string; message: string };
}
