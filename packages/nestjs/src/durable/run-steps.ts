import { abortableSleep } from '../agents/abortable-sleep';
import { PipelineError } from '../errors/pipeline.error';
import type { WebSocketNotifier } from '../execution/websocket.notifier';
import type { EventWriteBuffer } from '../store/event-write.buffer';
import { sanitizeJson } from '../validation/json-payload';
import type { StepOptions, StepRecord } from './durable-step.types';
import type { RunJournal } from './run-journal';

const STEP_NAME_MAX_CHARS = 256;
const DEFAULT_BACKOFF_MS = 1000;

/**
 * The steps of one run (`context.step()`): runs each `fn` with its retries and, in a durable
 * run, records its outcome with the run's events, or replays the outcome an earlier attempt
 * recorded. One per run, made by its orchestrator.
 */
export class RunSteps {
  private readonly used = new Set<string>();

  constructor(
    private readonly runId: string,
    private readonly journal: RunJournal,
    private readonly notifier: WebSocketNotifier,
    private readonly writer: EventWriteBuffer,
    /** The run's context; its signal is read only when a step runs (see `RunExecutionContext.signal`). */
    private readonly context: { readonly signal: AbortSignal },
  ) {}

  private get signal(): AbortSignal {
    return this.context.signal;
  }

  /** `context.step(name, fn, options)`; see `AgentRunContext.step`. */
  async run<T>(name: string, fn: () => Promise<T> | T, options: StepOptions = {}): Promise<T> {
    checkStep(name, fn, options);
    if (this.used.has(name)) {
      throw new Error(
        `Step '${name}' ran twice in run ${this.runId}: step names must be unique within a run (add a counter or an id to the name).`,
      );
    }
    this.used.add(name);
    if (this.signal.aborted) throw abortError(this.signal);
    const recorded = this.journal.durable ? this.journal.recordedStep(name) : undefined;
    if (recorded) {
      this.notifier.replayStep(name, recorded.seq, recorded.thinkingStep);
      if (recorded.error) throw recordedError(recorded.error);
      return (recorded.result === undefined ? undefined : JSON.parse(recorded.result)) as T;
    }
    // The first step the earlier attempts did not finish: from here on the run does new work.
    if (this.journal.durable) await this.notifier.goLive();
    let value: T;
    try {
      value = await this.attempt(fn, options);
    } catch (err) {
      if (!this.signal.aborted) this.record(name, { error: { name: (err as Error)?.name ?? 'Error', message: messageOf(err) } });
      throw err;
    }
    if (this.journal.durable) this.record(name, { result: serialize(name, value) });
    return value;
  }

  private async attempt<T>(fn: () => Promise<T> | T, options: StepOptions): Promise<T> {
    let delay = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    for (let left = options.retries ?? 0; ; left--) {
      try {
        return await fn();
      } catch (err) {
        if (left <= 0 || this.signal.aborted) throw err;
        await abortableSleep(delay, this.signal);
        delay *= 2;
      }
    }
  }

  private record(name: string, outcome: Pick<StepRecord, 'result' | 'error'>): void {
    if (!this.journal.durable || this.notifier.isClosed) return;
    this.writer.appendStep({ runId: this.runId, name, seq: this.notifier.lastSeq, thinkingStep: this.notifier.thinkingStep, ...outcome });
  }
}

/** The JSON text of a step's result (undefined for `undefined`); a value that is not JSON fails the step, naming it. */
function serialize(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.stringify(sanitizeJson(value, 'result'));
  } catch (err) {
    const problem = err instanceof PipelineError ? err.message : messageOf(err);
    throw new TypeError(
      `Step '${name}' returned a value that cannot be recorded: ${problem} A durable step's result must be JSON ` +
        '(plain objects, arrays, strings, finite numbers, booleans, null): convert dates, maps and class instances first.',
      { cause: err },
    );
  }
}

function checkStep(name: unknown, fn: unknown, options: StepOptions): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > STEP_NAME_MAX_CHARS) {
    throw new TypeError(`context.step(): the name must be a string of 1–${STEP_NAME_MAX_CHARS} characters, got ${JSON.stringify(name)}.`);
  }
  if (typeof fn !== 'function') throw new TypeError(`context.step('${name}'): the second argument must be a function.`);
  const { retries, backoffMs } = options ?? {};
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new TypeError(`context.step('${name}'): retries must be an integer ≥ 0, got ${String(retries)}.`);
  }
  if (backoffMs !== undefined && (!Number.isInteger(backoffMs) || backoffMs < 0)) {
    throw new TypeError(`context.step('${name}'): backoffMs must be an integer ≥ 0, got ${String(backoffMs)}.`);
  }
}

/** The error a recorded step failed with, thrown again on replay. */
function recordedError(error: { name: string; message: string }): Error {
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function abortError(signal: AbortSignal): Error {
  const error = new Error(`Aborted: ${String(signal.reason)}`);
  error.name = 'AbortError';
  return error;
}
