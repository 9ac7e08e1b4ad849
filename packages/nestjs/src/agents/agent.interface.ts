import type { Type } from '@nestjs/common';
import type { AgentNotifier } from '../execution/websocket.notifier';
import type { InterruptFn } from '../interrupts/interrupt.types';
import type { StepFn } from '../durable/durable-step.types';
import type { RunTelemetry } from '../observability/tracing/run-telemetry';

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
  /**
   * Asks the run's user and waits for the answer (human in the loop): `interrupt_requested` goes
   * out, the run is `waiting` until any of the user's tabs or HTTP calls answers (or it expires
   * after `INTERRUPT_TIMEOUT_MS` / its own `timeoutMs`), then `interrupt_resolved` goes out and the
   * promise resolves with `{ resolution, response?, reason? }`. Waiting time does not count toward
   * `RUN_TIMEOUT_MS`. Rejects with an `AbortError` when the run is cancelled, times out or its
   * node shuts down. One question at a time.
   *
   * @example
   * const answer = await context.interrupt({ kind: 'approval', message: 'Send the mail?', tool: 'send_mail', args });
   * if (answer.resolution !== 'approved') return 'not sent';
   */
  readonly interrupt: InterruptFn;
  /**
   * Runs `fn` once per run and records its JSON result (or its final error) with the run. In a
   * durable agent's resumed run, a recorded step returns its recorded result at once, without
   * calling `fn`; a step that was in flight when the node died runs again (at least once). A
   * result that is not JSON fails the step at record time, naming it. Step names are unique
   * within a run. In an agent that is not durable, the step only runs `fn` (with its retries).
   *
   * @example
   * const weather = await context.step('fetch-weather', () => weatherApi.get(city), { retries: 2 });
   */
  readonly step: StepFn;
  /**
   * Model calls and tool calls of the run, as spans of its trace (when tracing is on) and, for
   * model calls, as tokens of its `usage` and of the user's daily budget.
   */
  readonly telemetry: RunTelemetry;
}

/**
 * An agent: a Nest provider marked with `@Agent()`. `run` returns the result (the `result` of
 * `agent_completed`), or an `AgentResult` to add fields to `agent_completed`, or throws (the
 * message of `agent_error` `AGENT_FAILED`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds agents of every input type
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
  /**
   * Runs of this agent outlive their node (see "Durable agents" in the README): the results of
   * `context.step()` and the answers to `context.interrupt()` are recorded with the run, and a run
   * whose node died or restarted is resumed (on that node at its next start, or on another node
   * once its lease ran out) by calling `run()` again, which replays what was recorded. Put side
   * effects and anything non-deterministic (model calls, clocks, random ids) in steps.
   * @default false
   */
  durable?: boolean;
  /**
   * The agent calls a language model (through `context.telemetry.modelCall`): its runs count
   * tokens, and a user whose daily budget (`MAX_TOKENS_PER_USER_PER_DAY`) is spent gets
   * `QUOTA_EXCEEDED` for new runs of it. Agents without it are never refused for the budget.
   * @default false
   */
  callsModel?: boolean;
}
