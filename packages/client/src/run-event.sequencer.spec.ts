import type { AnyAgentEvent } from '@agent-pipeline/protocol';
import { AsyncEventQueue } from './async-event.queue';
import { isAgentEvent, RunEventSequencer } from './run-event.sequencer';

function event(seq: number, type: AnyAgentEvent['type'] = 'agent_thinking', runId = 'r1'): AnyAgentEvent {
  return {
    runId,
    threadId: 't1',
    seq,
    type,
    agent: 'countdown',
    ts: new Date(0).toISOString(),
    data: { thought: `s${seq}`, step: seq },
  } as AnyAgentEvent;
}

describe('RunEventSequencer', () => {
  it('releases events strictly as last + 1 and drops copies', () => {
    const sut = new RunEventSequencer('r1');
    const released: number[] = [];
    for (const seq of [1, 3, 2, 2, 1, 5, 4, 3, 6]) released.push(...sut.accept(event(seq)).map((e) => e.seq));
    expect(released).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sut.lastSeq).toBe(6);
    expect(sut.hasGap).toBe(false);
  });

  it('holds events after a gap until the gap is filled', () => {
    const sut = new RunEventSequencer('r1');
    expect(sut.accept(event(2))).toEqual([]);
    expect(sut.hasGap).toBe(true);
    expect(sut.accept(event(1)).map((e) => e.seq)).toEqual([1, 2]);
    expect(sut.hasGap).toBe(false);
  });

  it('starts after afterSeq and ignores other runs', () => {
    const sut = new RunEventSequencer('r1', 4);
    expect(sut.accept(event(4))).toEqual([]);
    expect(sut.accept(event(5, 'agent_thinking', 'r2'))).toEqual([]);
    expect(sut.accept(event(5)).map((e) => e.seq)).toEqual([5]);
  });

  it('ends at the terminal event and releases nothing after it', () => {
    const sut = new RunEventSequencer('r1');
    sut.accept(event(1, 'agent_started'));
    sut.accept(event(3));
    expect(sut.accept(event(2, 'agent_completed')).map((e) => e.type)).toEqual(['agent_completed']);
    expect(sut.ended).toBe(true);
    expect(sut.accept(event(3))).toEqual([]);
    expect(sut.hasGap).toBe(false);
  });

  it('adopts a terminal stored below what it released, once', () => {
    const sut = new RunEventSequencer('r1');
    for (const seq of [1, 2, 3]) sut.accept(event(seq));
    expect(sut.adoptTerminal(event(2))).toBeUndefined();
    const adopted = sut.adoptTerminal(event(2, 'agent_error'));
    expect(adopted?.type).toBe('agent_error');
    expect(sut.ended).toBe(true);
    expect(sut.adoptTerminal(event(2, 'agent_error'))).toBeUndefined();
  });
});

describe('isAgentEvent', () => {
  it('accepts envelopes and refuses look-alikes', () => {
    expect(isAgentEvent(event(1))).toBe(true);
    expect(isAgentEvent({ ...event(1), seq: 0 })).toBe(false);
    expect(isAgentEvent({ ...event(1), seq: 1.5 })).toBe(false);
    expect(isAgentEvent({ ...event(1), type: 'nope' })).toBe(false);
    expect(isAgentEvent({ ...event(1), data: null })).toBe(false);
    expect(isAgentEvent('agent_started')).toBe(false);
  });
});

describe('AsyncEventQueue', () => {
  it('delivers pushed items, then ends', async () => {
    const sut = new AsyncEventQueue<number>();
    sut.push(1);
    setImmediate(() => {
      sut.push(2);
      sut.end();
      sut.push(3);
    });
    const seen: number[] = [];
    for await (const n of sut) seen.push(n);
    expect(seen).toEqual([1, 2]);
  });

  it('throws the failure after the items pushed before it', async () => {
    const sut = new AsyncEventQueue<number>();
    sut.push(1);
    sut.fail(new Error('boom'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of sut) seen.push(n);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1]);
  });

  it('calls onReturn when the consumer breaks out, and can be iterated once', async () => {
    const onReturn = jest.fn();
    const sut = new AsyncEventQueue<number>(onReturn);
    sut.push(1);
    sut.push(2);
    for await (const n of sut) if (n === 1) break;
    expect(onReturn).toHaveBeenCalledTimes(1);
    expect(() => sut[Symbol.asyncIterator]()).toThrow('iterated once');
  });
});
