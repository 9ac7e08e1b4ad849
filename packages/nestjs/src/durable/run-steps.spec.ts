import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { WebSocketNotifier } from '../execution/websocket.notifier';
import type { EventWriteBuffer } from '../store/event-write.buffer';
import type { StepRecord } from './durable-step.types';
import { RunJournal } from './run-journal';
import { RunSteps } from './run-steps';

/** The notifier as steps see it: its seq and step counter, replays and going live. */
function notifierDouble(seq = 0) {
  const calls: string[] = [];
  const notifier = {
    lastSeq: seq,
    thinkingStep: 0,
    isClosed: false,
    replayStep: (name: string, at: number) => calls.push(`replay ${name} @${at}`),
    goLive: async () => void calls.push('live'),
  };
  return { notifier: notifier as unknown as WebSocketNotifier, calls };
}

function writerDouble() {
  const steps: StepRecord[] = [];
  return { writer: { appendStep: (s: StepRecord) => steps.push(s) } as unknown as EventWriteBuffer, steps };
}

const signal = new AbortController().signal;

describe('RunSteps (context.step)', () => {
  it('records a durable step once with its JSON result, the run seq and step counter', async () => {
    const { notifier } = notifierDouble(4);
    const { writer, steps } = writerDouble();
    const sut = new RunSteps('run-1', new RunJournal(true), notifier, writer, { signal });
    await expect(sut.run('fetch', async () => ({ temp: 21, tags: ['a'] }))).resolves.toEqual({ temp: 21, tags: ['a'] });
    await expect(sut.run('nothing', () => undefined)).resolves.toBeUndefined();
    expect(steps).toEqual([
      { runId: 'run-1', name: 'fetch', seq: 4, thinkingStep: 0, result: '{"temp":21,"tags":["a"]}' },
      { runId: 'run-1', name: 'nothing', seq: 4, thinkingStep: 0 },
    ]);
  });

  it('retries a throwing fn `retries` times with doubling backoff, then records and throws its last error', async () => {
    const { writer, steps } = writerDouble();
    const sut = new RunSteps('run-1', new RunJournal(true), notifierDouble().notifier, writer, { signal });
    const at: number[] = [];
    const started = Date.now();
    let n = 0;
    await expect(
      sut.run(
        'flaky',
        () => {
          at.push(Date.now() - started);
          n++;
          if (n < 3) throw new Error(`no ${n}`);
          return n;
        },
        { retries: 2, backoffMs: 40 },
      ),
    ).resolves.toBe(3);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(35);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(75);
    const failing = sut.run('never', () => Promise.reject(new TypeError('down')), { retries: 1, backoffMs: 1 });
    await expect(failing).rejects.toThrow('down');
    expect(steps[1]).toMatchObject({ name: 'never', error: { name: 'TypeError', message: 'down' } });
  });

  it('fails a result that is not JSON at record time, naming the step and where in the result', async () => {
    const { writer, steps } = writerDouble();
    const sut = new RunSteps('run-1', new RunJournal(true), notifierDouble().notifier, writer, { signal });
    await expect(sut.run('load-user', () => ({ user: { born: new Date(0) } }))).rejects.toThrow(
      /Step 'load-user' returned a value that cannot be recorded: result\.user\.born must be JSON/,
    );
    expect(steps).toEqual([]);
  });

  it('refuses a step name used twice in one run, and bad arguments, with messages that say how to fix them', async () => {
    const sut = new RunSteps('run-1', new RunJournal(false), notifierDouble().notifier, writerDouble().writer, { signal });
    await sut.run('once', () => 1);
    await expect(sut.run('once', () => 2)).rejects.toThrow(/Step 'once' ran twice in run run-1: step names must be unique/);
    await expect(sut.run('', () => 1)).rejects.toThrow(/name must be a string of 1–256 characters/);
    await expect(sut.run('r', () => 1, { retries: -1 })).rejects.toThrow(/retries must be an integer ≥ 0/);
  });

  it('records nothing for an agent that is not durable', async () => {
    const { writer, steps } = writerDouble();
    const sut = new RunSteps('run-1', new RunJournal(false), notifierDouble().notifier, writer, { signal });
    await expect(sut.run('x', () => new Date(0))).resolves.toEqual(new Date(0));
    expect(steps).toEqual([]);
  });

  it('replays a recorded step without calling fn (its result, or its error), and goes live at the first unrecorded one', async () => {
    const recorded: StepRecord[] = [
      { runId: 'run-1', name: 'a', seq: 2, thinkingStep: 1, result: '"A"' },
      { runId: 'run-1', name: 'b', seq: 3, thinkingStep: 1, error: { name: 'RangeError', message: 'too far' } },
    ];
    const journal = new RunJournal(true, { attempt: 2, reason: 'restart', events: [], steps: recorded });
    const { notifier, calls } = notifierDouble();
    const { writer, steps } = writerDouble();
    const sut = new RunSteps('run-1', journal, notifier, writer, { signal });
    const fn = jest.fn(() => 'again');
    await expect(sut.run('a', fn)).resolves.toBe('A');
    await expect(sut.run('b', fn)).rejects.toThrow(expect.objectContaining({ name: 'RangeError', message: 'too far' }));
    expect(fn).not.toHaveBeenCalled();
    await expect(sut.run('c', fn)).resolves.toBe('again');
    expect(calls).toEqual(['replay a @2', 'replay b @3', 'live']);
    expect(steps.map((s) => s.name)).toEqual(['c']);
  });
});

describe('RunJournal.usedRunningMs (RUN_TIMEOUT_MS over attempts)', () => {
  const at = (seq: number, type: AgentEventEnvelope['type'], ms: number) =>
    ({ runId: 'r', threadId: 't', agent: 'a', seq, type, ts: new Date(ms).toISOString(), data: {} }) as AgentEventEnvelope;

  it('counts each attempt from its first event to its last, less the time waiting for an answer', () => {
    const events = [
      at(1, 'agent_started', 0),
      at(2, 'agent_thinking', 100),
      at(3, 'interrupt_requested', 300), // 300 ms running, then waiting
      at(4, 'agent_resumed', 10_000), // the answer came after a restart
      at(5, 'interrupt_resolved', 10_010),
      at(6, 'agent_thinking', 10_510), // 10 ms + 500 ms running
    ];
    const journal = new RunJournal(true, { attempt: 3, reason: 'node_lost', events, steps: [] });
    expect(journal.usedRunningMs()).toBe(300 + 10 + 500);
    expect(journal.afterSeq).toBe(6);
  });
});
