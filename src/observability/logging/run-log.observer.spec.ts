import { Writable } from 'node:stream';
import pino from 'pino';
import { RunLifecycleHooks } from '@agent-pipeline/nestjs';
import type { HttpRequestLogger } from './http-request.logger';
import { RunLogObserver } from './run-log.observer';

describe('RunLogObserver', () => {
  const run = { runId: 'r-1', userId: 'alice', agent: 'echo', threadId: 't-1' };
  let hooks: RunLifecycleHooks;
  let observers: RunLogObserver[];
  let lines: any[];

  /** An observer writing through a real pino logger at `level` into `lines`. */
  function observer(level: string): RunLogObserver {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const sut = new RunLogObserver(hooks, { logger: pino({ level }, sink) } as unknown as HttpRequestLogger);
    sut.onModuleInit();
    observers.push(sut);
    return sut;
  }

  /** pino writes to a stream asynchronously: let it. */
  const flushed = () => new Promise((r) => setImmediate(r));

  beforeEach(() => {
    hooks = new RunLifecycleHooks();
    observers = [];
    lines = [];
  });
  afterEach(() => observers.forEach((o) => o.onModuleDestroy()));

  it('logs start (debug) and end of every run with its run id and user id as fields', async () => {
    observer('debug');
    hooks.started(run);
    hooks.ended(run, { outcome: { kind: 'completed', result: 'x' }, durationMs: 12 });
    hooks.ended(run, { outcome: { kind: 'error', code: 'TIMEOUT', message: 'too slow' }, durationMs: 99 });
    await flushed();
    expect(lines.map((l) => l.level)).toEqual([20, 30, 40]);
    for (const line of lines) expect(line).toMatchObject({ context: 'Runs', runId: 'r-1', userId: 'alice', msg: expect.any(String) });
    expect(lines[0].msg).toBe('Run started (echo)');
    expect(lines[1]).toMatchObject({ outcome: 'completed', durationMs: 12, msg: 'Run completed (echo)' });
    expect(lines[2]).toMatchObject({ outcome: 'error', code: 'TIMEOUT', durationMs: 99, msg: 'Run failed (echo): TIMEOUT: too slow' });
  });

  it('writes no start line at info, and nothing when silent', async () => {
    observer('info');
    hooks.started(run);
    hooks.ended(run, { outcome: { kind: 'cancelled', reason: 'user' }, durationMs: 1 });
    await flushed();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[30, 'Run cancelled (echo)']]);
    observers.pop()?.onModuleDestroy();

    lines = [];
    observer('silent');
    hooks.started(run);
    hooks.ended(run, { outcome: { kind: 'completed', result: null }, durationMs: 1 });
    await flushed();
    expect(lines).toEqual([]);
  });

  it('stops logging once its module is destroyed', async () => {
    observer('debug').onModuleDestroy();
    hooks.started(run);
    await flushed();
    expect(lines).toEqual([]);
  });
});
