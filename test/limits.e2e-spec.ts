import { type Socket, io } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { command, ofRun, recordEvents, startTestApp, TestApp, waitForTerminal } from './support/test-app';

const LONG = { agent: 'countdown', input: { steps: 10_000, intervalMs: 50 } };

function refused(code: string) {
  return { ok: false, error: expect.objectContaining({ code, message: expect.any(String) }) };
}

describe('MAX_CONCURRENT_RUNS_PER_USER', () => {
  let t: TestApp;
  let alice: Socket;
  let aliceEvents: AgentEventEnvelope[];
  let bob: Socket;
  let bobEvents: AgentEventEnvelope[];
  beforeAll(async () => {
    t = await startTestApp({ MAX_CONCURRENT_RUNS_PER_USER: '2' });
    alice = await t.connect('alice');
    aliceEvents = recordEvents(alice);
    bob = await t.connect('bob');
    bobEvents = recordEvents(bob);
  });
  afterAll(() => t.close());

  it('refuses a third run with TOO_MANY_RUNS, leaves other users alone, and frees the slot when a run is cancelled', async () => {
    const first = await command(alice, 'run:start', LONG);
    const second = await command(alice, 'run:start', LONG);
    expect(first.ok).toBe(true);
    expect(second.ok).toBe(true);

    const third = await command(alice, 'run:start', LONG);
    expect(third).toEqual(refused('TOO_MANY_RUNS'));
    expect(third.error.details).toEqual(expect.objectContaining({ limit: 2 }));
    // The refusal counts nowhere: from a second socket of alice it is refused too.
    const aliceTab2 = await t.connect('alice');
    expect(await command(aliceTab2, 'run:start', LONG)).toEqual(refused('TOO_MANY_RUNS'));

    // Bob has his own two slots.
    const bobRun = await command(bob, 'run:start', { agent: 'echo', input: { text: 'bob' } });
    expect(bobRun.ok).toBe(true);
    expect((await waitForTerminal(bobEvents, bobRun.runId)).type).toBe('agent_completed');

    // Cancelling one of alice's runs frees its slot.
    expect(await command(alice, 'run:cancel', { runId: first.runId })).toEqual({ ok: true, runId: first.runId });
    await waitForTerminal(aliceEvents, first.runId);
    const fourth = await command(alice, 'run:start', LONG);
    expect(fourth.ok).toBe(true);
    expect(await command(alice, 'run:start', LONG)).toEqual(refused('TOO_MANY_RUNS'));

    for (const runId of [second.runId, fourth.runId]) {
      expect((await command(alice, 'run:cancel', { runId })).ok).toBe(true);
      await waitForTerminal(aliceEvents, runId);
    }
  });

  it('frees the slot when a run finishes on its own', async () => {
    const long = await command(alice, 'run:start', LONG);
    const short = await command(alice, 'run:start', { agent: 'countdown', input: { steps: 3, intervalMs: 50 } });
    expect(long.ok).toBe(true);
    expect(short.ok).toBe(true);
    expect(await command(alice, 'run:start', LONG)).toEqual(refused('TOO_MANY_RUNS'));

    expect((await waitForTerminal(aliceEvents, short.runId)).type).toBe('agent_completed');
    const next = await command(alice, 'run:start', { agent: 'echo', input: { text: 'slot' } });
    expect(next.ok).toBe(true);
    expect((await waitForTerminal(aliceEvents, next.runId)).type).toBe('agent_completed');

    // A failed run frees its slot too.
    const failing = await command(alice, 'run:start', { agent: 'failing', input: { message: 'boom' } });
    expect(failing.ok).toBe(true);
    expect((await waitForTerminal(aliceEvents, failing.runId)).type).toBe('agent_error');
    expect((await command(alice, 'run:start', { agent: 'echo', input: { text: 'again' } })).ok).toBe(true);

    await command(alice, 'run:cancel', { runId: long.runId });
    await waitForTerminal(aliceEvents, long.runId);
  });

  it('counts concurrent starts fired at once: exactly the limit is admitted', async () => {
    const acks = await Promise.all(Array.from({ length: 6 }, () => command(alice, 'run:start', LONG)));
    const admitted = acks.filter((a) => a.ok);
    expect(admitted).toHaveLength(2);
    expect(acks.filter((a) => !a.ok).every((a) => a.error.code === 'TOO_MANY_RUNS')).toBe(true);
    for (const a of admitted) {
      await command(alice, 'run:cancel', { runId: a.runId });
      await waitForTerminal(aliceEvents, a.runId);
    }
  });
});

describe('RUN_TIMEOUT_MS', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ RUN_TIMEOUT_MS: '300' })));
  afterAll(() => t.close());

  it('ends a run that takes too long with agent_error TIMEOUT, as its last event, status failed', async () => {
    const s = await t.connect('alice');
    const events = recordEvents(s);
    const started = performance.now();
    const ack = await command(s, 'run:start', { agent: 'countdown', input: { steps: 100, intervalMs: 50 } });
    expect(ack.ok).toBe(true);

    const terminal = await waitForTerminal(events, ack.runId);
    console.log(`timeout: RUN_TIMEOUT_MS=300 → agent_error after ${(performance.now() - started).toFixed(0)} ms`);
    expect(terminal.type).toBe('agent_error');
    expect(terminal.data).toEqual({ code: 'TIMEOUT', message: expect.stringContaining('RUN_TIMEOUT_MS') });

    await new Promise((r) => setTimeout(r, 300));
    const run = ofRun(events, ack.runId);
    expect(run[run.length - 1]).toBe(terminal);
    expect(run.map((e) => e.seq)).toEqual(run.map((_, i) => i + 1));
    // It was stopped, not finished: far fewer than 100 steps.
    expect(run.filter((e) => e.type === 'agent_thinking').length).toBeLessThan(100);

    const replay = await command(s, 'run:replay', { runId: ack.runId, afterSeq: terminal.seq });
    expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'failed', lastSeq: terminal.seq });
    // A timed-out run cannot be cancelled any more.
    expect(await command(s, 'run:cancel', { runId: ack.runId })).toEqual(refused('RUN_FINISHED'));
  });
});

describe('MAX_INPUT_BYTES and the Socket.IO frame limit', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ MAX_INPUT_BYTES: '1024' })));
  afterAll(() => t.close());

  it('refuses a 2 KB input with PAYLOAD_TOO_LARGE and keeps the connection usable', async () => {
    const s = await t.connect('alice');
    const events = recordEvents(s);
    let disconnected = false;
    s.on('disconnect', () => (disconnected = true));

    const ack = await command(s, 'run:start', { agent: 'echo', input: { text: 'x'.repeat(2048) } });
    expect(ack).toEqual(refused('PAYLOAD_TOO_LARGE'));
    expect(ack.error.details).toEqual(expect.objectContaining({ limit: 1024 }));
    expect(ack.error.message).toContain('MAX_INPUT_BYTES');
    // Close to the frame limit (4 × MAX_INPUT_BYTES): still an ack, not a dropped connection.
    expect(await command(s, 'run:start', { agent: 'echo', input: { text: 'x'.repeat(4000) } })).toEqual(refused('PAYLOAD_TOO_LARGE'));

    // Just under the limit is fine, on the same socket.
    const ok = await command(s, 'run:start', { agent: 'echo', input: { text: 'y'.repeat(900) } });
    expect(ok.ok).toBe(true);
    expect((await waitForTerminal(events, ok.runId)).type).toBe('agent_completed');
    expect(disconnected).toBe(false);
    expect(s.connected).toBe(true);
  });

  it('survives a 1 MB frame: that socket may be dropped, the server keeps serving', async () => {
    const s = await t.connect('alice');
    const outcome = await new Promise<{ kind: 'disconnect'; reason: string } | { kind: 'ack'; ack: any }>((resolve) => {
      s.once('disconnect', (reason) => resolve({ kind: 'disconnect', reason }));
      s.timeout(10_000).emit(
        'run:start',
        { agent: 'echo', input: { text: 'z'.repeat(1024 * 1024) } },
        (err: Error | null, ack: unknown) => {
          if (!err) resolve({ kind: 'ack', ack });
        },
      );
    });
    console.log(`1 MB frame with MAX_INPUT_BYTES=1024: ${JSON.stringify(outcome)}`);
    if (outcome.kind === 'ack') expect(outcome.ack).toEqual(refused('PAYLOAD_TOO_LARGE'));
    else expect(outcome.reason).toEqual(expect.any(String));

    // The server is alive: a new socket runs echo, and HTTP answers.
    const fresh = await t.connect('alice');
    const events = recordEvents(fresh);
    const ack = await command(fresh, 'run:start', { agent: 'echo', input: { text: 'still here' } });
    expect(ack.ok).toBe(true);
    const terminal = await waitForTerminal(events, ack.runId);
    expect(terminal.data).toEqual(expect.objectContaining({ result: 'still here' }));
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
  });

  it('drops an oversized frame over HTTP long-polling too, without harm', async () => {
    const s = io(`${t.url}/agents`, { auth: { token: t.token('alice') }, transports: ['polling'], reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      const outcome = await new Promise<string>((resolve) => {
        s.once('disconnect', (reason) => resolve(`disconnect: ${reason}`));
        s.timeout(10_000).emit('run:start', { agent: 'echo', input: { text: 'z'.repeat(1024 * 1024) } }, (err: Error | null, ack: any) =>
          resolve(err ? 'no ack' : `ack: ${ack?.error?.code}`),
        );
      });
      console.log(`1 MB frame over polling: ${outcome}`);
      expect(outcome).not.toBe('no ack');
      if (outcome.startsWith('ack')) expect(outcome).toBe('ack: PAYLOAD_TOO_LARGE');
    } finally {
      s.disconnect();
    }
    const fresh = await t.connect('bob');
    expect((await command(fresh, 'agents:list', {})).ok).toBe(true);
  });
});

describe('RATE_LIMIT_RUNS_PER_MINUTE', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '3' })));
  afterAll(() => t.close());

  it("refuses the 4th start of a user with RATE_LIMITED, counted across that user's sockets; other users unaffected", async () => {
    const tab1 = await t.connect('alice');
    const tab2 = await t.connect('alice');
    const events1 = recordEvents(tab1);
    const events2 = recordEvents(tab2);
    const echo = (text: string) => ({ agent: 'echo', input: { text } });

    for (const [socket, events, text] of [
      [tab1, events1, 'one'],
      [tab2, events2, 'two'],
      [tab1, events1, 'three'],
    ] as const) {
      const ack = await command(socket, 'run:start', echo(text));
      expect(ack.ok).toBe(true);
      expect((await waitForTerminal(events, ack.runId)).type).toBe('agent_completed');
    }

    const fourth = await command(tab2, 'run:start', echo('four'));
    expect(fourth).toEqual(refused('RATE_LIMITED'));
    expect(fourth.error.details).toEqual(expect.objectContaining({ retryAfterSeconds: expect.any(Number) }));
    expect(fourth.error.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(fourth.error.details.retryAfterSeconds).toBeLessThanOrEqual(60);
    // From the other tab too.
    expect(await command(tab1, 'run:start', echo('five'))).toEqual(refused('RATE_LIMITED'));

    // Bob has his own budget.
    const bob = await t.connect('bob');
    const bobEvents = recordEvents(bob);
    for (const text of ['b1', 'b2', 'b3']) {
      const ack = await command(bob, 'run:start', echo(text));
      expect(ack.ok).toBe(true);
      await waitForTerminal(bobEvents, ack.runId);
    }
    expect(await command(bob, 'run:start', echo('b4'))).toEqual(refused('RATE_LIMITED'));

    // Other commands are not rate limited.
    expect((await command(tab1, 'agents:list', {})).ok).toBe(true);
  });
});
