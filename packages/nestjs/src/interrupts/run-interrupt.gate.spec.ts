import type { InterruptRequestedData, InterruptResolvedData } from '@agent-pipeline/protocol';
import { PipelineError } from '../errors/pipeline.error';
import { RunInterruptGate } from './run-interrupt.gate';

describe('RunInterruptGate', () => {
  let controller: AbortController;
  let calls: string[];
  let requested: InterruptRequestedData[];
  let resolved: InterruptResolvedData[];
  let sut: RunInterruptGate;

  beforeEach(() => {
    controller = new AbortController();
    calls = [];
    requested = [];
    resolved = [];
    sut = new RunInterruptGate(
      {
        requested: async (data) => {
          calls.push('requested');
          requested.push(data);
        },
        resolved: async (data) => {
          calls.push('resolved');
          resolved.push(data);
        },
        paused: () => calls.push('paused'),
        resumed: () => calls.push('resumed'),
      },
      controller.signal,
      60_000,
    );
  });

  afterEach(() => sut.end());

  /** Asks, and waits until the question is out. */
  async function open(request: Parameters<RunInterruptGate['ask']>[0]) {
    const answer = sut.ask(request);
    answer.catch(() => undefined); // a test that ends the run leaves it rejected
    await Promise.resolve();
    const data = sut.pending!;
    return { answer, data };
  }

  const code = async (promise: Promise<unknown>) => ((await promise.catch((e: unknown) => e)) as PipelineError).code;

  it('enforces every draft 2020-12 keyword of responseSchema and names each field in VALIDATION_FAILED details', async () => {
    const { data } = await open({
      kind: 'input',
      message: 'Your booking?',
      responseSchema: {
        type: 'object',
        properties: {
          code: { type: 'string', pattern: '^[A-Z]{3}$' },
          guests: { type: 'integer', minimum: 1, maximum: 8 },
          mail: { type: 'string', format: 'email' },
          when: { oneOf: [{ const: 'today' }, { type: 'string', format: 'date' }] },
        },
        required: ['code', 'guests'],
      },
    });
    const refused = (await sut
      .answer(data.interruptId, { response: { code: 'lyon', guests: 9, mail: 'nope', when: 'soon' } })
      .catch((e) => e)) as PipelineError;
    expect(refused.code).toBe('VALIDATION_FAILED');
    expect(refused.details).toEqual({
      fields: expect.arrayContaining([
        { field: 'response.code', errors: ['must match pattern "^[A-Z]{3}$"'] },
        { field: 'response.guests', errors: ['must be <= 8'] },
        { field: 'response.mail', errors: ['must match format "email"'] },
        { field: 'response.when', errors: expect.arrayContaining(['must match exactly one schema in oneOf']) },
      ]),
    });
    expect(refused.message).toContain('response.guests must be <= 8');
    expect(sut.pending).toBe(data);
    await expect(sut.answer(data.interruptId, { response: { code: 'LYS', guests: 2, when: '2026-12-24' } })).resolves.toBe('answered');
  });

  it('checks an input answer against responseSchema: a bad one is refused and the question stays open', async () => {
    const { answer, data } = await open({
      kind: 'input',
      message: 'Which city?',
      responseSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    });
    expect(data).toMatchObject({ kind: 'input', message: 'Which city?', responseSchema: expect.any(Object) });
    expect(await code(sut.answer(data.interruptId, { response: { town: 'Lyon' } }))).toBe('VALIDATION_FAILED');
    expect(await code(sut.answer(data.interruptId, { approved: true }))).toBe('VALIDATION_FAILED');
    expect(sut.pending).toBe(data);
    expect(resolved).toEqual([]);

    await expect(sut.answer(data.interruptId, { response: { city: 'Lyon' }, reason: 'home' })).resolves.toBe('answered');
    await expect(answer).resolves.toEqual({
      interruptId: data.interruptId,
      resolution: 'answered',
      response: { city: 'Lyon' },
      reason: 'home',
    });
    expect(resolved).toEqual([{ interruptId: data.interruptId, resolution: 'answered', response: { city: 'Lyon' }, reason: 'home' }]);
    expect(calls).toEqual(['paused', 'requested', 'resolved', 'resumed']);
    expect(await code(sut.answer(data.interruptId, { response: { city: 'Paris' } }))).toBe('INTERRUPT_RESOLVED');
    expect(await code(sut.answer('other', { response: 1 }))).toBe('INTERRUPT_NOT_FOUND');
  });

  it('lets an input question be declined with approved: false', async () => {
    const { answer, data } = await open({ kind: 'input', message: 'Name?' });
    await expect(sut.answer(data.interruptId, { approved: false })).resolves.toBe('denied');
    await expect(answer).resolves.toMatchObject({ resolution: 'denied' });
  });

  it('of two answers given in the same tick, only the first resolves the question', async () => {
    const { answer, data } = await open({ kind: 'approval', message: 'Go?' });
    const results = await Promise.allSettled([
      sut.answer(data.interruptId, { approved: false }),
      sut.answer(data.interruptId, { approved: true }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'denied' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'INTERRUPT_RESOLVED' } });
    await expect(answer).resolves.toMatchObject({ resolution: 'denied' });
    expect(resolved).toHaveLength(1);
  });

  it('rejects the waiting agent with an AbortError when the run aborts, and emits no resolution', async () => {
    const { answer, data } = await open({ kind: 'approval', message: 'Go?' });
    controller.abort('user');
    await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
    expect(resolved).toEqual([]);
    expect(sut.pending).toBeUndefined();
    expect(await code(sut.answer(data.interruptId, { approved: true }))).toBe('INTERRUPT_RESOLVED');
    await expect(sut.ask({ kind: 'approval', message: 'Again?' })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('expires after its own timeoutMs, capped by the gate maximum', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const long = sut.ask({ kind: 'approval', message: 'Later?', timeoutMs: 10_000_000 });
      await Promise.resolve();
      expect(Date.parse(sut.pending!.expiresAt)).toBe(60_000);
      await jest.advanceTimersByTimeAsync(60_000);
      await expect(long).resolves.toMatchObject({ resolution: 'expired' });
      expect(resolved.map((r) => r.resolution)).toEqual(['expired']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('asks one question at a time and refuses malformed requests at once', async () => {
    await open({ kind: 'approval', message: 'First?' });
    await expect(sut.ask({ kind: 'approval', message: 'Second?' })).rejects.toThrow(/already waits on interrupt/);
    const fresh = new RunInterruptGate(
      { requested: async () => undefined, resolved: async () => undefined, paused() {}, resumed() {} },
      controller.signal,
      1000,
    );
    await expect(fresh.ask({ kind: 'approval', message: '' })).rejects.toThrow(/message/);
    await expect(fresh.ask({ kind: 'vote' } as never)).rejects.toThrow(/kind/);
    await expect(fresh.ask({ kind: 'approval', message: 'x', timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    await expect(fresh.ask({ kind: 'input', message: 'x', responseSchema: { type: 'text' } })).rejects.toThrow(
      /responseSchema is no valid JSON Schema/,
    );
    await expect(fresh.ask({ kind: 'input', message: 'x', responseSchema: { type: 'string', minLenght: 1 } })).rejects.toThrow(/minLenght/);
  });

  it('an abort while the question is still being stored rejects the ask, and nothing goes unhandled', async () => {
    let store!: () => void;
    const slow = new RunInterruptGate(
      { requested: () => new Promise<void>((resolve) => (store = resolve)), resolved: async () => undefined, paused() {}, resumed() {} },
      controller.signal,
      60_000,
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const asking = slow.ask({ kind: 'approval', message: 'Go?' });
      await Promise.resolve();
      controller.abort('user');
      await new Promise((r) => setImmediate(r));
      store();
      await expect(asking).rejects.toMatchObject({ name: 'AbortError' });
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('end() rejects a question still open when the run ends', async () => {
    const { answer } = await open({ kind: 'approval', message: 'Go?' });
    sut.end();
    await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
  });
});
