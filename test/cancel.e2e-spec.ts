import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { command, ofRun, recordEvents, startTestApp, TestApp, waitFor, waitForTerminal } from './support/test-app';

const TERMINAL = ['agent_completed', 'agent_error', 'agent_cancelled'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts seq 1..n without gap or repeat and exactly one terminal event, the last. */
function expectWellFormed(events: AgentEventEnvelope[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => TERMINAL.includes(e.type))).toHaveLength(1);
  expect(TERMINAL).toContain(events[events.length - 1].type);
}

describe('run:cancel (real sockets)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  let alice: Socket;
  let aliceEvents: AgentEventEnvelope[];
  let mallory: Socket;
  let malloryEvents: AgentEventEnvelope[];
  beforeAll(async () => {
    alice = await t.connect('alice');
    aliceEvents = recordEvents(alice);
    mallory = await t.connect('mallory');
    malloryEvents = recordEvents(mallory);
  });

  async function startCountdown(): Promise<string> {
    const ack = await command(alice, 'run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } });
    expect(ack).toEqual({ ok: true, runId: expect.any(String), threadId: expect.any(String), status: 'running' });
    // Mid-run: a few thinking steps are out.
    await waitFor(() => ofRun(aliceEvents, ack.runId).filter((e) => e.type === 'agent_thinking').length >= 3, 'three thinking steps');
    return ack.runId;
  }

  it('cancels a running countdown: acked, agent_cancelled {reason: user} is the last event, nothing after it', async () => {
    const runId = await startCountdown();

    const sentAt = performance.now();
    let terminalAt = 0;
    const onCancelled = (e: AgentEventEnvelope) => {
      if (e.runId === runId && !terminalAt) terminalAt = performance.now();
    };
    alice.on('agent_cancelled', onCancelled);
    const ack = await command(alice, 'run:cancel', { runId });
    const ackAt = performance.now();
    expect(ack).toEqual({ ok: true, runId });

    const terminal = await waitForTerminal(aliceEvents, runId);
    alice.off('agent_cancelled', onCancelled);
    expect(terminal.type).toBe('agent_cancelled');
    expect(terminal.data).toEqual({ reason: 'user' });
    console.log(
      `cancel latency: run:cancel emit → agent_cancelled ${(terminalAt - sentAt).toFixed(1)} ms, → ack ${(ackAt - sentAt).toFixed(1)} ms`,
    );

    // Nothing of the run may follow its terminal event.
    const countAtTerminal = ofRun(aliceEvents, runId).length;
    await sleep(300);
    const events = ofRun(aliceEvents, runId);
    expect(events).toHaveLength(countAtTerminal);
    expect(events[events.length - 1]).toBe(terminal);
    expectWellFormed(events);

    // The store agrees: status cancelled, every event stored.
    const replayEvents: AgentEventEnvelope[] = [];
    const other = await t.connect('alice');
    for (const type of ['agent_started', 'agent_thinking', 'agent_cancelled'])
      other.on(type, (e: AgentEventEnvelope) => replayEvents.push(e));
    const replay = await command(other, 'run:replay', { runId, afterSeq: 0 });
    expect(replay).toEqual({ ok: true, runId, status: 'cancelled', lastSeq: terminal.seq });
    expect(replayEvents.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    other.disconnect();

    // A second cancel: the run has ended.
    const again = await command(alice, 'run:cancel', { runId });
    expect(again).toEqual({ ok: false, error: expect.objectContaining({ code: 'RUN_FINISHED' }) });
  });

  it('measures cancel latency over several runs (reported, not asserted)', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const runId = await startCountdown();
      const sentAt = performance.now();
      const ack = await command(alice, 'run:cancel', { runId });
      expect(ack.ok).toBe(true);
      const terminal = await waitForTerminal(aliceEvents, runId);
      latencies.push(performance.now() - sentAt);
      expect(terminal.type).toBe('agent_cancelled');
      expectWellFormed(ofRun(aliceEvents, runId));
    }
    console.log(`cancel latencies (emit → agent_cancelled at the client, ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`);
  });

  it('refuses to cancel an unknown run with RUN_NOT_FOUND', async () => {
    const ack = await command(alice, 'run:cancel', { runId: '00000000-0000-4000-8000-000000000000' });
    expect(ack).toEqual({ ok: false, error: expect.objectContaining({ code: 'RUN_NOT_FOUND', message: expect.any(String) }) });
  });

  it("refuses another user's cancel and replay with RUN_NOT_FOUND, and the run keeps going", async () => {
    const runId = await startCountdown();

    const foreignCancel = await command(mallory, 'run:cancel', { runId });
    expect(foreignCancel).toEqual({ ok: false, error: expect.objectContaining({ code: 'RUN_NOT_FOUND' }) });
    // Indistinguishable from a run that does not exist: the message names nothing else.
    const unknownCancel = await command(mallory, 'run:cancel', { runId: '00000000-0000-4000-8000-000000000000' });
    expect(Object.keys(foreignCancel.error).sort()).toEqual(Object.keys(unknownCancel.error).sort());

    const foreignReplay = await command(mallory, 'run:replay', { runId, afterSeq: 0 });
    expect(foreignReplay).toEqual({ ok: false, error: expect.objectContaining({ code: 'RUN_NOT_FOUND' }) });

    // Still running: more thinking steps arrive after the refused cancel, and no terminal.
    const seen = ofRun(aliceEvents, runId).length;
    await waitFor(() => ofRun(aliceEvents, runId).length >= seen + 3, 'three more events after the foreign cancel');
    expect(ofRun(aliceEvents, runId).some((e) => TERMINAL.includes(e.type))).toBe(false);

    const own = await command(alice, 'run:cancel', { runId });
    expect(own).toEqual({ ok: true, runId });
    expect((await waitForTerminal(aliceEvents, runId)).type).toBe('agent_cancelled');

    // After the end as well: another user's cancel and replay of the ended run still say RUN_NOT_FOUND.
    expect(await command(mallory, 'run:cancel', { runId })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'RUN_NOT_FOUND' }),
    });
    expect(await command(mallory, 'run:replay', { runId })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'RUN_NOT_FOUND' }),
    });
    // And none of alice's events ever reached mallory.
    expect(malloryEvents).toEqual([]);
  });
});
