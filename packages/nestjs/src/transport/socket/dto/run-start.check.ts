import { isIdempotencyKey, MULTITASK_POLICIES } from '@agent-pipeline/protocol';
import { RUN_START_LIMITS as LIMITS, RunStartDto } from './run-start.dto';

const KEYS: ReadonlySet<string> = new Set(['agent', 'input', 'threadId', 'multitask', 'idempotencyKey', 'traceparent']);

/**
 * The {@link RunStartDto} of an ordinary, valid `run:start` payload, checked by hand; `undefined`
 * for anything else, which then goes through class-validator for the contract's messages.
 *
 * Every start pays for this check, so it accepts only what class-validator accepts (the same
 * rules, UTF-16 lengths being upper bounds of its code-point lengths) and gives up on anything
 * unusual: another key, a `null`, a prototype that is not a plain object's. `input` is handed
 * over untouched, as `validatePayload` does with its pass-through keys.
 */
export function checkedRunStart(payload: unknown): RunStartDto | undefined {
  if (payload === null || typeof payload !== 'object' || Object.getPrototypeOf(payload) !== Object.prototype) return undefined;
  const p = payload as Record<string, unknown>;
  for (const key of Object.keys(p)) if (!KEYS.has(key)) return undefined;
  const { agent, input, threadId, multitask, idempotencyKey, traceparent } = p;
  if (typeof agent !== 'string' || agent.length < 1 || agent.length > LIMITS.agentMaxLength) return undefined;
  if (
    threadId !== undefined &&
    (typeof threadId !== 'string' || threadId.length > LIMITS.threadIdMaxLength || !LIMITS.threadIdPattern.test(threadId))
  )
    return undefined;
  if (multitask !== undefined && !(MULTITASK_POLICIES as readonly unknown[]).includes(multitask)) return undefined;
  if (idempotencyKey !== undefined && !isIdempotencyKey(idempotencyKey)) return undefined;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || traceparent.length > LIMITS.traceparentMaxLength)) return undefined;
  const dto = new RunStartDto();
  dto.agent = agent;
  if ('input' in p) dto.input = input;
  if (threadId !== undefined) dto.threadId = threadId;
  if (multitask !== undefined) dto.multitask = multitask as RunStartDto['multitask'];
  if (idempotencyKey !== undefined) dto.idempotencyKey = idempotencyKey;
  if (traceparent !== undefined) dto.traceparent = traceparent;
  return dto;
}
