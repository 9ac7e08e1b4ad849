import { IdempotentStartGate } from './idempotent-start.gate';
import { differingField, requestFingerprint } from './request.fingerprint';

describe('requestFingerprint / differingField', () => {
  const base = { agent: 'echo', input: { text: 'hi', n: [1, { b: 2, a: 1 }] }, threadId: 't', multitask: 'enqueue' as const };

  it('is the same for the same request, whatever the order of object keys', () => {
    const reordered = { multitask: 'enqueue' as const, threadId: 't', input: { n: [1, { a: 1, b: 2 }], text: 'hi' }, agent: 'echo' };
    expect(differingField(requestFingerprint(base), requestFingerprint(reordered))).toBeUndefined();
    expect(requestFingerprint(base)).toBe(requestFingerprint(reordered));
  });

  it('names the first field that differs, in the order agent, input, threadId, multitask', () => {
    const of = (change: object) => differingField(requestFingerprint(base), requestFingerprint({ ...base, ...change }));
    expect(of({ agent: 'calculator' })).toBe('agent');
    expect(of({ agent: 'calculator', input: 1 })).toBe('agent');
    expect(of({ input: { text: 'hi', n: [{ b: 2, a: 1 }, 1] } })).toBe('input');
    expect(of({ input: { text: 'hi' } })).toBe('input');
    expect(of({ threadId: 'u' })).toBe('threadId');
    expect(of({ threadId: undefined })).toBe('threadId');
    expect(of({ multitask: 'reject' })).toBe('multitask');
    expect(of({ multitask: undefined })).toBe('multitask');
  });

  it('treats an absent input as null, and keeps arrays in their order', () => {
    expect(differingField(requestFingerprint({ agent: 'a' }), requestFingerprint({ agent: 'a', input: null }))).toBeUndefined();
    expect(differingField(requestFingerprint({ agent: 'a', input: [1, 2] }), requestFingerprint({ agent: 'a', input: [2, 1] }))).toBe(
      'input',
    );
    // A stored fingerprint that cannot be read is never taken for the same request.
    expect(differingField('', requestFingerprint({ agent: 'a' }))).toBe('input');
  });
});

describe('IdempotentStartGate', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('runs the starts of one user and key one after another, whatever the outcome of each, and forgets the key after', async () => {
    const gate = new IdempotentStartGate();
    const log: string[] = [];
    let release!: () => void;
    const first = gate.serialize('u', 'k', async () => {
      log.push('first begins');
      await new Promise<void>((resolve) => (release = resolve));
      log.push('first ends');
      throw new Error('refused');
    });
    const second = gate.serialize('u', 'k', async () => {
      log.push('second runs');
      return 2;
    });
    const otherKey = gate.serialize('u', 'other', async () => {
      log.push('other key runs');
      return 3;
    });
    const otherUser = gate.serialize('v', 'k', async () => {
      log.push('other user runs');
      return 4;
    });
    await tick();
    expect(log).toEqual(['first begins', 'other key runs', 'other user runs']);
    release();
    await expect(first).rejects.toThrow('refused');
    expect(await second).toBe(2);
    expect(await otherKey).toBe(3);
    expect(await otherUser).toBe(4);
    expect(log).toEqual(['first begins', 'other key runs', 'other user runs', 'first ends', 'second runs']);
    await tick();
    expect(gate.size).toBe(0);
  });
});
