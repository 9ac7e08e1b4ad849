import { randomUUID } from 'node:crypto';
import { PipelineError } from '../errors/pipeline.error';
import type { InterruptRequestedData, InterruptResolution, InterruptResolvedData, InterruptAnswer } from '@agent-pipeline/protocol';
import { compileJsonSchema, type JsonSchemaCheck } from '../validation/json-schema.validator';
import type { FieldError } from '../validation/validate-payload';
import type { InterruptOutcome, InterruptRequest } from './interrupt.types';

/** How the gate reports its questions and tells the run when it waits. */
export interface InterruptGateHost {
  /** Stores, then publishes, `interrupt_requested` (the run turns `waiting`). */
  requested(data: InterruptRequestedData): Promise<unknown>;
  /** Stores, then publishes, `interrupt_resolved` (the run turns `running` again). */
  resolved(data: InterruptResolvedData): Promise<unknown>;
  /** A question opened: the run's own timeout stops counting. */
  paused(): void;
  /** The question closed: the run's timeout counts again. */
  resumed(): void;
  /**
   * In a resumed durable run, the question the earlier attempt asked at this point (asked again
   * with its id and expiry, and not sent again) and its answer, if it had one.
   */
  recall?(): { requested: InterruptRequestedData; resolved?: InterruptResolvedData } | undefined;
}

interface OpenInterrupt {
  readonly data: InterruptRequestedData;
  /** The question's `responseSchema`, compiled when it was asked. */
  readonly check?: JsonSchemaCheck;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (outcome: InterruptOutcome) => void;
  readonly reject: (err: Error) => void;
  readonly onAbort: () => void;
}

const MAX_TIMER_MS = 2_147_483_647;

/** Ids of closed questions a run remembers, to answer a late answer with `INTERRUPT_RESOLVED`. */
const REMEMBERED_CLOSED = 256;

/**
 * The questions of one run (one per orchestrator, so it lives and dies with the run): opens an
 * interrupt, lets the first valid answer close it, expires it, and rejects it when the run aborts.
 * Everything that decides who wins happens synchronously, so of two answers arriving together
 * exactly one resolves the question; the other gets `INTERRUPT_RESOLVED`.
 */
export class RunInterruptGate {
  private open?: OpenInterrupt;
  private readonly closed = new Set<string>();
  private ended = false;

  constructor(
    private readonly host: InterruptGateHost,
    private readonly signal: AbortSignal,
    private readonly maxTimeoutMs: number,
  ) {}

  /** The open question, if any (the `interrupt` of a waiting run). */
  get pending(): InterruptRequestedData | undefined {
    return this.open?.data;
  }

  /** Opens a question and waits for its answer; see {@link InterruptFn}. */
  async ask<T>(request: InterruptRequest): Promise<InterruptOutcome<T>> {
    if (this.signal.aborted || this.ended) throw abortError(this.signal);
    if (this.open) {
      throw new Error(`Run already waits on interrupt ${this.open.data.interruptId}: await context.interrupt() before asking again.`);
    }
    const described = describe(request, this.maxTimeoutMs);
    const recalled = this.host.recall?.();
    const data = recalled ? recalled.requested : described.data;
    const check = described.check;
    const outcome = new Promise<InterruptOutcome<T>>((resolve, reject) => {
      const onAbort = () => {
        if (this.open?.data.interruptId !== data.interruptId) return;
        this.close();
        reject(abortError(this.signal));
      };
      // setTimeout fires at once past 2^31-1 ms (about 24.8 days): never wait longer than that.
      const ms = Math.min(Date.parse(data.expiresAt) - Date.now(), MAX_TIMER_MS);
      const timer = setTimeout(() => void this.settle(data.interruptId, 'expired'), Math.max(0, ms));
      this.open = { data, check, timer, resolve: resolve as (o: InterruptOutcome) => void, reject, onAbort };
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
    // The run may abort (or expire) while the question is being stored: the caller still gets
    // that outcome below, but meanwhile the promise must not count as an unhandled rejection.
    outcome.catch(() => undefined);
    this.host.paused();
    await this.host.requested(data);
    // Answered before the node was lost: the replay takes the recorded answer at once.
    if (recalled?.resolved) {
      const { resolution, response, reason } = recalled.resolved;
      await this.settle(data.interruptId, resolution, response, reason);
    }
    return outcome;
  }

  /**
   * Answers question `interruptId`; resolves with its resolution once `interrupt_resolved` is
   * stored and published. Throws `INTERRUPT_NOT_FOUND`, `INTERRUPT_RESOLVED` or
   * `VALIDATION_FAILED` (the question then stays open).
   */
  async answer(interruptId: string, answer: InterruptAnswer): Promise<InterruptResolution> {
    const open = this.open;
    if (!open || open.data.interruptId !== interruptId) {
      if (this.closed.has(interruptId)) {
        throw new PipelineError('INTERRUPT_RESOLVED', `Interrupt '${interruptId}' was already answered or has expired.`);
      }
      throw new PipelineError('INTERRUPT_NOT_FOUND', `Run has no open interrupt '${interruptId}'.`);
    }
    const { resolution, response } = judge(open, answer);
    await this.settle(interruptId, resolution, response, answer.reason);
    return resolution;
  }

  /** The run ended: an open question is rejected (an agent still awaiting it gets an `AbortError`). */
  end(): void {
    this.ended = true;
    const open = this.open;
    if (!open) return;
    this.close();
    open.reject(abortError(this.signal));
  }

  private async settle(interruptId: string, resolution: InterruptResolution, response?: unknown, reason?: string): Promise<void> {
    const open = this.open;
    if (!open || open.data.interruptId !== interruptId) return;
    this.close();
    const data: InterruptResolvedData = { interruptId, resolution };
    if (response !== undefined) data.response = response;
    if (reason !== undefined) data.reason = reason;
    // The agent goes on only once the resolution is out: its next events must follow it on the wire too.
    await this.host.resolved(data);
    this.host.resumed();
    const outcome: InterruptOutcome = { interruptId, resolution };
    if (response !== undefined) outcome.response = response;
    if (reason !== undefined) outcome.reason = reason;
    open.resolve(outcome);
  }

  private close(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    clearTimeout(open.timer);
    this.signal.removeEventListener('abort', open.onAbort);
    this.closed.add(open.data.interruptId);
    if (this.closed.size > REMEMBERED_CLOSED) this.closed.delete(this.closed.values().next().value as string);
  }
}

/** The `interrupt_requested` data of a request, checked: a mistake in it is the agent's bug, thrown at once. */
function describe(request: InterruptRequest, maxTimeoutMs: number): { data: InterruptRequestedData; check?: JsonSchemaCheck } {
  if (request === null || typeof request !== 'object') throw new TypeError('context.interrupt() needs a request object.');
  const kind: unknown = (request as { kind?: unknown }).kind;
  if (kind !== 'approval' && kind !== 'input') {
    throw new TypeError(`context.interrupt(): kind must be 'approval' or 'input', got ${JSON.stringify(kind)}.`);
  }
  if (typeof request.message !== 'string' || request.message.length === 0) {
    throw new TypeError('context.interrupt(): message must be a non-empty string (it is what the user sees).');
  }
  let timeoutMs = Math.min(maxTimeoutMs, MAX_TIMER_MS);
  if (request.timeoutMs !== undefined) {
    if (!Number.isInteger(request.timeoutMs) || request.timeoutMs < 1) {
      throw new TypeError(`context.interrupt(): timeoutMs must be a positive integer, got ${String(request.timeoutMs)}.`);
    }
    timeoutMs = Math.min(request.timeoutMs, timeoutMs);
  }
  const schema = request.kind === 'input' ? request.responseSchema : undefined;
  let check: JsonSchemaCheck | undefined;
  if (schema !== undefined) {
    try {
      check = compileJsonSchema(schema);
    } catch (err) {
      throw new TypeError(`context.interrupt(): responseSchema is no valid JSON Schema (draft 2020-12): ${(err as Error).message}.`, {
        cause: err,
      });
    }
  }
  const data: InterruptRequestedData = {
    interruptId: randomUUID(),
    kind: request.kind,
    message: request.message,
    expiresAt: new Date(Date.now() + timeoutMs).toISOString(),
  };
  if (request.toolCallId !== undefined) data.toolCallId = request.toolCallId;
  if (request.tool !== undefined) data.tool = request.tool;
  if (request.args !== undefined) data.args = request.args;
  if (schema !== undefined) data.responseSchema = schema;
  return { data, check };
}

/** The resolution an answer gives the open question, or `VALIDATION_FAILED`. */
function judge(open: OpenInterrupt, answer: InterruptAnswer): { resolution: InterruptResolution; response?: unknown } {
  if (open.data.kind === 'approval') {
    if (typeof answer.approved !== 'boolean') {
      throw invalid('An approval is answered with approved: true or false.', 'approved', ['must be a boolean']);
    }
    return { resolution: answer.approved ? 'approved' : 'denied' };
  }
  if (answer.approved === false && answer.response === undefined) return { resolution: 'denied' };
  if (answer.response === undefined) {
    throw invalid('An input question is answered with a response (or declined with approved: false).', 'response', ['is required']);
  }
  const fields = open.check?.(answer.response, 'response') ?? [];
  if (fields.length > 0) {
    const summary = fields.map((f) => `${f.field} ${f.errors.join(', ')}`).join('; ');
    throw new PipelineError('VALIDATION_FAILED', `The response does not match the question's responseSchema: ${summary}.`, { fields });
  }
  return { resolution: 'answered', response: answer.response };
}

/** `VALIDATION_FAILED` in the shape every other validation error has (`details.fields`). */
function invalid(message: string, field: string, errors: string[]): PipelineError {
  const fields: FieldError[] = [{ field, errors }];
  return new PipelineError('VALIDATION_FAILED', message, { fields });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const error = new Error(`Aborted: ${reason === undefined ? 'the run ended' : reason instanceof Error ? reason.message : String(reason)}`);
  error.name = 'AbortError';
  return error;
}
