import type { AnyAgentEvent } from '@agent-pipeline/protocol';
import { RunActivity } from './run-activity';
import { RunDiscovery } from './run-discovery';

const event = (runId: string, seq: number, type: string, threadId = 't1') =>
  ({ runId, threadId, seq, type, agent: 'approval', ts: '2026-01-01T00:00:00.000Z', data: {} }) as unknown as AnyAgentEvent;

describe('RunActivity', () => {
  it('says per thread whether a run goes on or waits for an answer, from the runs events', () => {
    const sut = new RunActivity();
    expect(sut.of('t1')).toBeUndefined();
    sut.observe(event('r1', 1, 'agent_started'));
    expect(sut.of('t1')).toBe('running');
    sut.observe(event('r1', 3, 'interrupt_requested'));
    expect(sut.of('t1')).toBe('waiting');
    sut.observe(event('r2', 1, 'agent_started'));
    expect(sut.of('t1')).toBe('waiting');
    sut.observe(event('r1', 4, 'interrupt_resolved'));
    expect(sut.of('t1')).toBe('running');
    sut.observe(event('r1', 6, 'agent_completed'));
    sut.observe(event('r2', 2, 'agent_cancelled'));
    expect(sut.of('t1')).toBeUndefined();
    expect(sut.of('t2')).toBeUndefined();
  });

  it('ignores replayed copies of earlier events, before and after the end', () => {
    const sut = new RunActivity();
    sut.observe(event('r1', 1, 'agent_started'));
    sut.observe(event('r1', 2, 'interrupt_requested'));
    sut.observe(event('r1', 1, 'agent_started'));
    expect(sut.of('t1')).toBe('waiting');
    sut.observe(event('r1', 5, 'agent_completed'));
    sut.observe(event('r1', 2, 'interrupt_requested'));
    expect(sut.of('t1')).toBeUndefined();
  });

  it('falls back to the status the thread list reported until events say more', () => {
    const sut = new RunActivity();
    expect(sut.of('t1', 'waiting')).toBe('waiting');
    expect(sut.of('t1', 'queued')).toBe('running');
    expect(sut.of('t1', 'completed')).toBeUndefined();
    sut.observe(event('r1', 1, 'agent_started'));
    expect(sut.of('t1', 'completed')).toBe('running');
  });
});

describe('RunDiscovery', () => {
  it('reports each run it does not know once, with its first event', () => {
    const found: string[] = [];
    const sut = new RunDiscovery((e) => found.push(`${e.runId}:${e.seq}`));
    sut.know('shown');
    sut.observe(event('shown', 1, 'agent_started'));
    sut.observe(event('other', 1, 'agent_started'));
    sut.observe(event('other', 2, 'agent_thinking'));
    expect(found).toEqual(['other:1']);
  });

  it('holds new runs while a start of its own is unanswered, and drops its own once acked', () => {
    const found: string[] = [];
    const sut = new RunDiscovery((e) => found.push(e.runId));
    sut.startBegan();
    // The start's own first events may come before its ack; so may another tab's.
    sut.observe(event('own', 1, 'agent_started'));
    sut.observe(event('foreign', 1, 'agent_started'));
    expect(found).toEqual([]);
    sut.startSettled('own');
    expect(found).toEqual(['foreign']);
    sut.observe(event('own', 2, 'agent_thinking'));
    expect(found).toEqual(['foreign']);
  });

  it('decides held runs only once every pending start settled, refused ones included', () => {
    const found: string[] = [];
    const sut = new RunDiscovery((e) => found.push(e.runId));
    sut.startBegan();
    sut.startBegan();
    sut.observe(event('a', 1, 'agent_started'));
    sut.startSettled();
    expect(found).toEqual([]);
    sut.observe(event('b', 1, 'agent_started'));
    sut.startSettled('b');
    expect(found).toEqual(['a']);
  });
});
