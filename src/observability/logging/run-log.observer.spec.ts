import { Logger } from '@nestjs/common';
import { RunLifecycleHooks } from '@agent-pipeline/nestjs';
import { RunLogObserver } from './run-log.observer';

describe('RunLogObserver', () => {
  const run = { runId: 'r-1', userId: 'alice', agent: 'echo', threadId: 't-1' };
  let hooks: RunLifecycleHooks;
  let sut: RunLogObserver;
  let lines: Array<[string, Record<string, unknown>]>;

  beforeEach(() => {
    hooks = new RunLifecycleHooks();
    sut = new RunLogObserver(hooks);
    sut.onModuleInit();
    lines = [];
    for (const level of ['debug', 'log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => void lines.push([level, args[0] as Record<string, unknown>]));
    }
  });
  afterEach(() => {
    sut.onModuleDestroy();
    jest.restoreAllMocks();
  });

  it('logs start and end of every run with its run id and user id as fields', () => {
    hooks.started(run);
    hooks.ended(run, { outcome: { kind: 'completed', result: 'x' }, durationMs: 12 });
    hooks.ended(run, { outcome: { kind: 'error', code: 'TIMEOUT', message: 'too slow' }, durationMs: 99 });
    expect(lines.map(([level]) => level)).toEqual(['debug', 'log', 'warn']);
    for (const [, fields] of lines) expect(fields).toMatchObject({ runId: 'r-1', userId: 'alice', msg: expect.any(String) });
    expect(lines[1][1]).toMatchObject({ outcome: 'completed', durationMs: 12 });
    expect(lines[2][1]).toMatchObject({ outcome: 'error', code: 'TIMEOUT', durationMs: 99 });
  });

  it('stops logging once its module is destroyed', () => {
    sut.onModuleDestroy();
    hooks.started(run);
    expect(lines).toEqual([]);
  });
});
