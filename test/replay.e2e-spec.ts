import { io, type Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { command, EVENT_TYPES, ofRun, recordEvents, startTestApp, TestApp, waitFor, waitForTerminal } from './support/test-app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const maxSeq = (events: AgentEventEnvelope[]) => Math.max(0, ...events.map((e) => e.seq));

/** Records run events and acks of one socket on one timeline, so their relative order can be checked. */
function timeline(socket: Socket): { entries: Array<{ event?: AgentEventEnvelope; mark?: string }>; mark(name: string): void } {
  const entries: Array<{ event?: AgentEventEnvelope; mark?: string }> = [];
  for (const type of EVENT_TYPES) socket.on(type, (event: AgentEventEnvelope) => entries.push({ event }));
  return { entries, mark: (name) => entries.push({ mark: name }) };
}

function between(entries: Array<{ event?: AgentEventEnvelope; mark?: string }>, from: string, to: string): AgentEventEnvelope[] {
  const start = entries.findIndex((e) => e.mark === from);
  const end = entries.findIndex((e) => e.mark === to);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return entries.slice(start + 1, end).flatMap((e) => (e.event ? [e.event] : []));
}

describe('run:replay (real sockets)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('after a reconnect, replays exactly the missed events to the asking socket, then acks, then live events go on', async () => {
    // Alice's other tab, connected throughout: it must never see the replay.
    const otherTab = await t.connect('alice');
    const otherTabEvents = recordEvents(otherTab);

    const first = await t.connect('alice');
    const firstEvents = recordEvents(first);
    const ack = await command(first, 'run:start', { agent: 'countdown', input: { steps: 25, intervalMs: 150 } });
    expect(ack.ok).toBe(true);
    const { runId } = ack;
    await waitFor(() => maxSeq(ofRun(firstEvents, runId)) >= 3, 'three events on the first socket');
    first.disconnect();
    const lastSeen = maxSeq(ofRun(firstEvents, runId));

    // Several steps happen while alice is away.
    await waitFor(() => maxSeq(ofRun(otherTabEvents, runId)) >= lastSeen + 3, 'three steps while disconnected');

    const second = await t.connect('alice');
    const line = timeline(second);
    // Replay right after a live step, so that the next one (150 ms later) does not land inside the replay.
    const beforeStep = maxSeq(ofRun(otherTabEvents, runId));
    await waitFor(() => maxSeq(ofRun(otherTabEvents, runId)) > beforeStep, 'a live step');
    line.mark('replay sent');
    const replay = await command(second, 'run:replay', { runId, afterSeq: lastSeen });
    line.mark('ack');

    expect(replay).toEqual({ ok: true, runId, status: 'running', lastSeq: expect.any(Number) });
    const replayed = between(line.entries, 'replay sent', 'ack');
    expect(replayed.length).toBeGreaterThanOrEqual(3);
    // Exactly the missed events: lastSeen+1 .. lastSeq, in order, each once, and the ack's lastSeq is the last of them.
    expect(replayed.map((e) => e.seq)).toEqual(Array.from({ length: replay.lastSeq - lastSeen }, (_, i) => lastSeen + 1 + i));
    expect(replayed.every((e) => e.runId === runId && e.type === 'agent_thinking')).toBe(true);
    // Identical to what the connected tab got live.
    const live = new Map(ofRun(otherTabEvents, runId).map((e) => [e.seq, e]));
    for (const e of replayed) expect(e).toEqual(live.get(e.seq));

    // Live events continue on the new socket after the ack.
    await waitFor(
      () =>
        maxSeq(
          ofRun(
            line.entries.flatMap((x) => (x.event ? [x.event] : [])),
            runId,
          ),
        ) > replay.lastSeq,
      'a live event after the ack',
    );
    await waitForTerminal(otherTabEvents, runId);
    await sleep(100);
    const after = line.entries.slice(line.entries.findIndex((e) => e.mark === 'ack') + 1).flatMap((e) => (e.event ? [e.event] : []));
    expect(after.map((e) => e.seq)).toEqual(Array.from({ length: after.length }, (_, i) => replay.lastSeq + 1 + i));
    expect(after[after.length - 1].type).toBe('agent_completed');

    // The client's view, merged by (runId, seq): the whole run, nothing missing.
    const merged = new Map<number, AgentEventEnvelope>();
    for (const e of [...ofRun(firstEvents, runId), ...replayed, ...after]) merged.set(e.seq, e);
    const terminalSeq = after[after.length - 1].seq;
    expect([...merged.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: terminalSeq }, (_, i) => i + 1));

    // The other tab never received a replayed copy: every seq once, in order.
    const otherSeqs = ofRun(otherTabEvents, runId).map((e) => e.seq);
    expect(otherSeqs).toEqual(Array.from({ length: terminalSeq }, (_, i) => i + 1));
  });

  it('replays an ended run from 0: every event 1..n, status completed; the other sockets get nothing', async () => {
    const s = await t.connect('alice');
    const events = recordEvents(s);
    const ack = await command(s, 'run:start', { agent: 'countdown', input: { steps: 5, intervalMs: 10 } });
    const terminal = await waitForTerminal(events, ack.runId);
    expect(terminal.type).toBe('agent_completed');
    const original = ofRun(events, ack.runId);

    const bystander = await t.connect('alice');
    const bystanderEvents = recordEvents(bystander);
    const asker = await t.connect('alice');
    const line = timeline(asker);
    line.mark('replay sent');
    const replay = await command(asker, 'run:replay', { runId: ack.runId, afterSeq: 0 });
    line.mark('ack');
    expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'completed', lastSeq: terminal.seq });
    const replayed = between(line.entries, 'replay sent', 'ack');
    expect(replayed).toEqual(original);
    expect(replayed.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // Default afterSeq is 0; afterSeq past the end gives nothing but the ack.
    const all = await command(asker, 'run:replay', { runId: ack.runId });
    expect(all.lastSeq).toBe(terminal.seq);
    const tail = timeline(asker);
    tail.mark('replay sent');
    const none = await command(asker, 'run:replay', { runId: ack.runId, afterSeq: terminal.seq });
    tail.mark('ack');
    expect(none).toEqual({ ok: true, runId: ack.runId, status: 'completed', lastSeq: terminal.seq });
    expect(between(tail.entries, 'replay sent', 'ack')).toEqual([]);
    const middle = timeline(asker);
    middle.mark('replay sent');
    await command(asker, 'run:replay', { runId: ack.runId, afterSeq: 4 });
    middle.mark('ack');
    expect(between(middle.entries, 'replay sent', 'ack').map((e) => e.seq)).toEqual([5, 6, 7]);

    await sleep(200);
    expect(bystanderEvents).toEqual([]);
    // The socket that ran it got nothing more either.
    expect(ofRun(events, ack.runId)).toHaveLength(original.length);
  });

  it('recovers a briefly broken connection (Socket.IO connection state recovery, when turned on) without losing an event', async () => {
    const recovering = await startTestApp({ SOCKET_RECOVERY_MS: '120000' });
    const t = recovering;
    const socket = io(`${t.url}/agents`, {
      auth: { token: t.token('alice') },
      reconnection: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    });
    try {
      const events = recordEvents(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      expect(socket.recovered).toBe(false);
      const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 30, intervalMs: 50 } });
      expect(ack.ok).toBe(true);
      await waitFor(() => maxSeq(ofRun(events, ack.runId)) >= 4, 'four events');

      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
      const reconnected = new Promise<void>((resolve) => socket.io.once('reconnect', () => resolve()));
      const brokenAt = Date.now();
      const seqAtBreak = maxSeq(ofRun(events, ack.runId));
      socket.io.engine.close();
      const reason = await disconnected;
      await reconnected;
      await waitFor(() => socket.connected, 'reconnected socket');
      const backAt = Date.now();
      console.log(
        `recovery: disconnect (${reason}) for ${backAt - brokenAt} ms, recovered=${socket.recovered}, seq at break ${seqAtBreak}`,
      );
      expect(socket.recovered).toBe(true);

      const terminal = await waitForTerminal(events, ack.runId);
      expect(terminal.type).toBe('agent_completed');
      const run = ofRun(events, ack.runId);
      // Contiguous 1..n, each once, terminal last: nothing lost, no replay asked for.
      expect(run.map((e) => e.seq)).toEqual(Array.from({ length: run.length }, (_, i) => i + 1));
      expect(run[run.length - 1]).toBe(terminal);
      expect(run).toHaveLength(32);
      // Events really were emitted while the connection was down (and came back through recovery).
      const whileDown = run.filter((e) => Date.parse(e.ts) > brokenAt && Date.parse(e.ts) < backAt - 20);
      expect(whileDown.length).toBeGreaterThanOrEqual(2);
    } finally {
      socket.disconnect();
      await recovering.close();
    }
  });
});
