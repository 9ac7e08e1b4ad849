import type { Type } from '@nestjs/common';
import type { AgentNotifier } from '../execution/websocket.notifier';

/** What an agent receives for one run. */
export interface AgentRunContext<TInput = unknown> {
  /** The validated input (an instance of the agent's `input` class when it declares one). */
  readonly input: TInput;
  /** Aborted on cancel, timeout and shutdown: stop work and return (or throw) promptly. */
  readonly signal: AbortSignal;
  readonly userId: string;
  readonly runId: string;
  readonly threadId: string;
  /** Reports progress; every call becomes one event of the run. */
  readonly notifier: AgentNotifier;
}

/**
 * An agent: a Nest provider marked with `@Agent()`. `run` returns the result (the `result` of
 * `agent_completed`), or an `AgentResult` to add fields to `agent_completed`, or throws (the
 * message of `agent_error` `AGENT_FAILED`).
 */
export interface AgentHandler<TInput = any, TResult = unknown> {
  run(context: AgentRunContext<TInput>): Promise<TResult> | TResult;
}

/** Options of the `@Agent()` decorator. */
export interface AgentOptions {
  /** Unique name clients use to start the agent. 1–64 chars of letters, digits, `-`, `_`, `.`. */
  name: string;
  /** One line shown by `agents:list` and `GET /agents`. */
  description: string;
  /**
   * A class-validator class describing the input; when set, the input is validated (unknown keys
   * stripped) before the run starts, and a bad input is refused with `VALIDATION_FAILED`.
   */
  input?: Type<object>;
}
