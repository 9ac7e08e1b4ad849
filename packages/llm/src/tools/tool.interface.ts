import type { JsonSchema, RunTelemetry } from '@agent-pipeline/nestjs';

/** What a tool receives besides its arguments. */
export interface ToolContext {
  /** Aborted when the run is cancelled, times out or the server shuts down: stop promptly. */
  readonly signal: AbortSignal;
  readonly userId: string;
  readonly runId: string;
  readonly threadId: string;
  /**
   * The run's telemetry: a tool that calls a model itself counts it with `telemetry.modelCall`,
   * so its tokens join the run's usage and the user's budget. Absent outside a run (unit tests).
   */
  readonly telemetry?: RunTelemetry;
}

/**
 * A tool the `assistant` agent offers to the model: a Nest provider marked with `@Tool()`.
 * `execute` gets arguments already validated against the tool's `parameters` schema. What it
 * returns (JSON) is the `result` of `tool_completed` and is sent back to the model; what it
 * throws is the `error` of `tool_completed` and is sent back too, so the model can correct itself.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds tools of every argument type
export interface ToolHandler<TArgs = any, TResult = unknown> {
  execute(args: TArgs, context: ToolContext): Promise<TResult> | TResult;
}

/** Options of the `@Tool()` decorator. */
export interface ToolOptions {
  /** The function name the model calls: 1–64 letters, digits, `_` or `-`, unique in the app. */
  name: string;
  /** Tells the model what the tool does and when to use it. */
  description: string;
  /**
   * JSON Schema (draft 2020-12) of the arguments, an `object` schema; every keyword is enforced.
   * An invalid schema (an unknown keyword, a wrong keyword value) is refused at start-up rather
   * than silently not enforced.
   */
  parameters: JsonSchema;
  /**
   * Ask the user before each call (human in the loop): the run emits `interrupt_requested` with
   * the tool, its arguments and the model's `toolCallId`, and waits. Approved, the tool runs;
   * denied or expired, it does not, and the model is told that the user declined. Tools listed in
   * `LLM_APPROVAL_TOOLS` ask as well.
   * @default false
   */
  needsApproval?: boolean;
}
