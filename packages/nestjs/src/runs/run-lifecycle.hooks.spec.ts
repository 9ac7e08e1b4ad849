import { Logger } from '@nestjs/common';
import { RunLifecycleHooks } from './run-lifecycle.hooks';

describe('RunLifecycleHooks', () => {
  const run = { runId: 'r-1', userId: 'alice', agent: 'echo', threadId: 't-1' };
  const ending = { outcome: { kind: 'cancelled' as const, reason: 'user' }, durationMs: 5 };
  afterEach(() => jest.restoreAllMocks());

  it('tells every observer, and an observer that throws neither stops the others nor escapes', () => {
    const sut = new RunLifecycleHooks();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const seen: string[] = [];
    sut.observe({
      runStarted: () => {
        throw new Error('broken observer');
      },
    });
    sut.observe({
      runStarted: (r) => seen.push(`started ${r.runId}`),
      runEnded: (r, e) => seen.push(`ended ${r.runId} ${e.outcome.kind}`),
    });
    sut.observe({});
    expect(() => sut.started(run)).not.toThrow();
    sut.ended(run, ending);
    expect(seen).toEqual(['started r-1', 'ended r-1 cancelled']);
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ runId: 'r-1', userId: 'alice' }));
  });

  it('forgets an observer once its unsubscribe function is called', () => {
    const sut = new RunLifecycleHooks();
    const runStarted = jest.fn();
    const stop = sut.observe({ runStarted });
    stop();
    sut.started(run);
    expect(runStarted).not.toHaveBeenCalled();
  });
});
