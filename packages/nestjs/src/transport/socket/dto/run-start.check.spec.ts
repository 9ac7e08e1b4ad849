import { PipelineError } from '../../../errors/pipeline.error';
import { validatePayload } from '../../../validation/validate-payload';
import { checkedRunStart } from './run-start.check';
import { RunStartDto } from './run-start.dto';

const bySlowPath = (payload: unknown): RunStartDto | PipelineError => {
  try {
    return validatePayload(RunStartDto, payload, 'run:start payload', undefined, new Set(['input']));
  } catch (err) {
    return err as PipelineError;
  }
};

const input = { text: 'hi', nested: { a: [1, 2] } };
const ACCEPTED: Record<string, unknown>[] = [
  { agent: 'echo' },
  { agent: 'echo', input },
  { agent: 'e'.repeat(64), input: 'any JSON' },
  { agent: 'echo', threadId: 'thread_1.a:b-c', multitask: 'enqueue', idempotencyKey: 'key 1 ~', traceparent: 'x' },
  { agent: 'echo', threadId: 't'.repeat(128), traceparent: 'p'.repeat(256) },
  { agent: 'echo', multitask: 'reject' },
  { agent: 'echo', multitask: 'interrupt' },
];
const LEFT_TO_CLASS_VALIDATOR: unknown[] = [
  null,
  'echo',
  [],
  Object.assign(Object.create(null), { agent: 'echo' }),
  {},
  { agent: '' },
  { agent: 'e'.repeat(65) },
  { agent: 3 },
  { agent: 'echo', unknown: 1 },
  { agent: 'echo', threadId: 'with space' },
  { agent: 'echo', threadId: '' },
  { agent: 'echo', threadId: 't'.repeat(129) },
  { agent: 'echo', threadId: null },
  { agent: 'echo', threadId: 7 },
  { agent: 'echo', multitask: 'later' },
  { agent: 'echo', multitask: null },
  { agent: 'echo', idempotencyKey: '' },
  { agent: 'echo', idempotencyKey: 'é' },
  { agent: 'echo', traceparent: 'p'.repeat(257) },
  { agent: 'echo', traceparent: 1 },
  JSON.parse('{"agent":"echo","__proto__":{"x":1}}'),
];

describe('checkedRunStart', () => {
  it.each(ACCEPTED)('accepts %j with the DTO class-validator makes of it', (payload) => {
    const fast = checkedRunStart(payload);
    expect(fast).toBeInstanceOf(RunStartDto);
    const slow = bySlowPath(payload);
    expect(slow).toBeInstanceOf(RunStartDto);
    expect(fast).toEqual(slow);
    // The input is handed over as it came, for the agent service to sanitize once.
    if ('input' in payload) expect(fast?.input).toBe(payload.input);
  });

  it.each(LEFT_TO_CLASS_VALIDATOR)('leaves %j to class-validator', (payload) => {
    expect(checkedRunStart(payload)).toBeUndefined();
  });

  it('leaves no payload that class-validator refuses on the fast path', () => {
    const refused = LEFT_TO_CLASS_VALIDATOR.filter((p) => bySlowPath(p) instanceof PipelineError);
    // Most of these are refused; the rest (null values of optional keys, extra or prototype keys) class-validator accepts in its own way.
    expect(refused.length).toBeGreaterThanOrEqual(15);
    for (const payload of refused) expect(checkedRunStart(payload)).toBeUndefined();
  });
});
