import type { InterruptResolution } from '@agent-pipeline/protocol';
import type { JsonSchema } from '../validation/json-schema.validator';

/** What every interrupt may carry. */
interface InterruptRequestBase {
  /** The question, shown to the user as is. */
  message: string;
  /** The tool call the question is about (an approval before a call), echoed in `interrupt_requested`. */
  tool?: string;
  args?: unknown;
  /** The id of that tool call: give the same id to `notifier.toolExecuting` once approved. */
  toolCallId?: string;
  /**
   * Expire sooner than `INTERRUPT_TIMEOUT_MS` (a longer value is cut to it), in ms.
   * @default INTERRUPT_TIMEOUT_MS
   */
  timeoutMs?: number;
}

/** A yes/no question; the user answers with `approved`. */
export interface ApprovalInterruptRequest extends InterruptRequestBase {
  kind: 'approval';
}

/** A question the user answers with a JSON `response` (or declines with `approved: false`). */
export interface InputInterruptRequest extends InterruptRequestBase {
  kind: 'input';
  /** When given, a `response` that breaks it is refused with `VALIDATION_FAILED` and the question stays open. */
  responseSchema?: JsonSchema;
}

/** What `context.interrupt()` asks. */
export type InterruptRequest = ApprovalInterruptRequest | InputInterruptRequest;

/** How the user (or the clock) answered an interrupt. */
export interface InterruptOutcome<TResponse = unknown> {
  interruptId: string;
  /** `approved` / `denied` for approvals (and a declined input), `answered` for inputs, `expired` when nobody answered in time. */
  resolution: InterruptResolution;
  /** The user's response to an `input` question (already checked against its `responseSchema`). */
  response?: TResponse;
  /** Why, when the user said. */
  reason?: string;
}

/**
 * Asks the run's user a question and waits for the answer: the run is `waiting` meanwhile (and its
 * `RUN_TIMEOUT_MS` clock stops). Rejects with an `AbortError` when the run is cancelled, times
 * out or its node shuts down. One question at a time per run.
 */
export type InterruptFn = <TResponse = unknown>(request: InterruptRequest) => Promise<InterruptOutcome<TResponse>>;
