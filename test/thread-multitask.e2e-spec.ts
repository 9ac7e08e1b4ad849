import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { HttpClient } from './support/http-client';
import {
  command,
  expectWellFormedRun,
  ofRun,
  recordEvents,
  startTestApp,
  waitFor,
  waitForTerminal,
  type TestApp,
} from './support/test-app';

/** Per-thread multitask policy on one node (DESIGN.md, "Runs and threads"), SQLite file store. */
describe('thread multitask policy (one node)', () => {
  let t: TestApp;
  let n = 0;
  const thread = () => `thread-${++n}`;
  const long = { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } };
  const short = (steps = 3) => ({ agent: 'countdown', input: { steps, intervalMs: 20 } });

  beforeAll(async () => {
    t = await startTestApp({ MAX_QUEUED_RUNS_PER_THREAD: '4', MAX_CONCURRENT_RUNS_PER_USER: '10' });
  });
  afterAll(() => t.close());

  async function userSocket(userId: string): Promise<{ socket: Socket; events: AgentEventEnvelope[]; http: HttpClient }> {
    const socket = await t.connect(userId);
    return { socket, events: recordEvents(socket), http: new HttpClient(t.url, t.token(userId)) };
  }

  /** The index in `events` of a run's first and terminal events: when it started and ended, as this socket saw it. */
  function span(events: AgentEventEnvelope[], runId: string): { start: number; end: number } {
    const start = events.findIndex((e) => e.runId === runId && e.type === 'agent_started');
    const end = events.findIndex((e) => e.runId === runId && ['agent_completed', 'agent_error', 'agent_cancelled'].includes(e.type));
    return { start, end };
  }

  it('enqueue (the default): a queue of 5 runs one after another, in the order they were accepted, each well formed', async () => {
    const { socket, events } = await userSocket('alice');
    const threadId = thread();
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await command(socket, 'run:start', { ...short(3), threadId }));
    expect(acks.map((a) => a.status)).toEqual(['running', 'queued', 'queued', 'queued', 'queued']);
    for (const ack of acks) expect(ack).toEqual({ ok: true, runId: expect.any(String), threadId, status: ack.status });
    for (const ack of acks) expect((await waitForTerminal(events, ack.runId)).type).toBe('agent_completed');
    for (let i = 0; i < 5; i++) {
      expectWellFormedRun(ofRun(events, acks[i].runId), { runId: acks[i].runId, threadId, agent: 'countdown' });
      if (i > 0) expect(span(events, acks[i].runId).start).toBeGreaterThan(span(events, acks[i - 1].runId).end);
    }
  });

  it('queues behind a run that started a new thread (no threadId), right after its ack', async () => {
    const { socket, events } = await userSocket('nia');
    const first = await command(socket, 'run:start', short(5));
    expect(first).toMatchObject({ ok: true, status: 'running' });
    const second = await command(socket, 'run:start', { agent: 'echo', input: { text: 'next' }, threadId: first.threadId });
    expect(second).toMatchObject({ ok: true, threadId: first.threadId, status: 'queued' });
    expect(await waitForTerminal(events, second.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'next' } });
    expect(span(events, second.runId).start).toBeGreaterThan(span(events, first.runId).end);
  });

  it('enqueue with racing starts: exactly one runs at once, the others wait in one order and never overlap', async () => {
    const { socket, events } = await userSocket('bob');
    const threadId = thread();
    const acks = await Promise.all(
      Array.from({ length: 4 }, (_, i) => command(socket, 'run:start', { agent: 'echo', input: { text: `m${i}` }, threadId })),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    expect(acks.filter((a) => a.status === 'running')).toHaveLength(1);
    for (const ack of acks) await waitForTerminal(events, ack.runId);
    const spans = acks.map((a) => span(events, a.runId)).sort((x, y) => x.start - y.start);
    for (let i = 1; i < spans.length; i++) expect(spans[i].start).toBeGreaterThan(spans[i - 1].end);
    // The run that answered `running` is the one that went first.
    const first = acks.find((a) => a.status === 'running')!;
    expect(span(events, first.runId)).toEqual(spans[0]);
  });

  it('reject: THREAD_BUSY while a run is in flight; racing starts on a free thread admit exactly one', async () => {
    const { socket } = await userSocket('carol');
    const threadId = thread();
    const first = await command(socket, 'run:start', { ...long, threadId, multitask: 'reject' });
    expect(first).toMatchObject({ ok: true, status: 'running' });
    const second = await command(socket, 'run:start', { ...short(), threadId, multitask: 'reject' });
    expect(second).toMatchObject({ ok: false, error: { code: 'THREAD_BUSY', details: { threadId, inFlight: [first.runId] } } });
    await command(socket, 'run:cancel', { runId: first.runId });

    const racing = thread();
    const acks = await Promise.all(
      Array.from({ length: 3 }, () => command(socket, 'run:start', { ...long, threadId: racing, multitask: 'reject' })),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(1);
    expect(acks.filter((a) => !a.ok).map((a) => a.error.code)).toEqual(['THREAD_BUSY', 'THREAD_BUSY']);
    await command(socket, 'run:cancel', { runId: acks.find((a) => a.ok).runId });
  });

  it('interrupt: the running run and the queued one end `superseded`, then the new run starts', async () => {
    const { socket, events } = await userSocket('dave');
    const threadId = thread();
    const running = await command(socket, 'run:start', { ...long, threadId });
    const queued = await command(socket, 'run:start', { ...long, threadId });
    expect([running.status, queued.status]).toEqual(['running', 'queued']);
    await waitFor(() => ofRun(events, running.runId).length >= 2, 'the first run to be going');
    const newest = await command(socket, 'run:start', { ...short(2), threadId, multitask: 'interrupt' });
    expect(newest).toMatchObject({ ok: true, threadId });
    const ended = await waitForTerminal(events, running.runId);
    expect(ended).toMatchObject({ type: 'agent_cancelled', data: { reason: 'superseded' } });
    expect(await waitForTerminal(events, newest.runId)).toMatchObject({ type: 'agent_completed', data: { result: 2 } });
    // The queued run never started: its only event is its terminal one, at seq 1.
    expect(ofRun(events, queued.runId)).toEqual([
      expect.objectContaining({ type: 'agent_cancelled', seq: 1, data: { reason: 'superseded' }, threadId }),
    ]);
    expect(span(events, newest.runId).start).toBeGreaterThan(span(events, running.runId).end);
  });

  it('cancel of a queued run: one stored event (agent_cancelled, seq 1), seen by replay, SSE and GET; the queue moves on', async () => {
    const { socket, events, http } = await userSocket('erin');
    const threadId = thread();
    const first = await command(socket, 'run:start', { ...long, threadId });
    const second = await command(socket, 'run:start', { ...short(), threadId });
    const third = await command(socket, 'run:start', { ...short(), threadId });
    const got = await http.get(`/runs/${third.runId}`);
    expect(got.body).toMatchObject({ status: 'queued', lastSeq: 0, queuePosition: 2, queuedBehind: second.runId });
    expect((await http.get(`/runs/${second.runId}`)).body).toMatchObject({ queuePosition: 1, queuedBehind: first.runId });
    expect((await http.get(`/runs/${first.runId}`)).body).not.toHaveProperty('queuePosition');

    const cancelled = await command(socket, 'run:cancel', { runId: second.runId });
    expect(cancelled).toEqual({ ok: true, runId: second.runId });
    await waitFor(() => ofRun(events, second.runId).length === 1, 'the queued run’s cancel event');
    expect(ofRun(events, second.runId)[0]).toMatchObject({ type: 'agent_cancelled', seq: 1, data: { reason: 'user' } });
    expect(await command(socket, 'run:cancel', { runId: second.runId })).toMatchObject({ ok: false, error: { code: 'RUN_FINISHED' } });
    expect((await http.get(`/runs/${second.runId}`)).body).toMatchObject({ status: 'cancelled', lastSeq: 1 });
    expect((await http.get(`/runs/${third.runId}`)).body).toMatchObject({ queuePosition: 1, queuedBehind: first.runId });

    const other = await t.connect('erin');
    const replayed = recordEvents(other);
    const replay = await command(other, 'run:replay', { runId: second.runId });
    expect(replay).toEqual({ ok: true, runId: second.runId, status: 'cancelled', lastSeq: 1 });
    expect(replayed.filter((e) => e.runId === second.runId).map((e) => [e.seq, e.type])).toEqual([[1, 'agent_cancelled']]);
    const sse = await (
      await fetch(`${t.url}/runs/${second.runId}/stream`, { headers: { authorization: `Bearer ${t.token('erin')}` } })
    ).text();
    expect([...sse.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual(['agent_cancelled']);

    await command(socket, 'run:cancel', { runId: first.runId });
    expect((await waitForTerminal(events, third.runId)).type).toBe('agent_completed');
    expect(ofRun(events, third.runId)[0]).toMatchObject({ type: 'agent_started', seq: 1 });
  });

  it('a queued run has no events and replays as queued until it starts', async () => {
    const { socket, events } = await userSocket('fay');
    const threadId = thread();
    const first = await command(socket, 'run:start', { ...long, threadId });
    const second = await command(socket, 'run:start', { ...short(), threadId });
    expect(await command(socket, 'run:replay', { runId: second.runId })).toEqual({
      ok: true,
      runId: second.runId,
      status: 'queued',
      lastSeq: 0,
    });
    expect(ofRun(events, second.runId)).toEqual([]);
    await command(socket, 'run:cancel', { runId: first.runId });
    await waitForTerminal(events, second.runId);
  });

  it('the queue cap: one more queued run than MAX_QUEUED_RUNS_PER_THREAD is refused with THREAD_BUSY (HTTP 409 too)', async () => {
    const { socket, events, http } = await userSocket('gus');
    const threadId = thread();
    const first = await command(socket, 'run:start', { ...long, threadId });
    const queued = [];
    for (let i = 0; i < 4; i++) queued.push(await command(socket, 'run:start', { ...short(), threadId }));
    expect(queued.map((a) => a.status)).toEqual(['queued', 'queued', 'queued', 'queued']);
    const over = await command(socket, 'run:start', { ...short(), threadId });
    expect(over).toMatchObject({ ok: false, error: { code: 'THREAD_BUSY', details: { queued: 4, limit: 4 } } });
    const overHttp = await http.post('/runs', { ...short(), threadId });
    expect(overHttp.status).toBe(409);
    expect(overHttp.body).toMatchObject({ statusCode: 409, code: 'THREAD_BUSY' });
    // Another thread of the same user is not affected.
    expect(await command(socket, 'run:start', { ...short(), threadId: thread() })).toMatchObject({ ok: true, status: 'running' });
    await command(socket, 'run:cancel', { runId: first.runId });
    for (const ack of queued) await waitForTerminal(events, ack.runId);
  });

  it('POST /runs says `queued`; with wait=true it answers once the queued run has ended', async () => {
    const { socket, events, http } = await userSocket('hal');
    const threadId = thread();
    const first = await http.post('/runs', { ...short(10), threadId });
    expect(first.body).toEqual({ runId: expect.any(String), threadId, status: 'running' });
    const second = await http.post('/runs', { agent: 'echo', input: { text: 'after' }, threadId });
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ runId: expect.any(String), threadId, status: 'queued' });
    const waited = await http.post('/runs?wait=true', { agent: 'echo', input: { text: 'last' }, threadId });
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({ threadId, status: 'completed', result: 'last' });
    expect(span(events, waited.body.runId).start).toBeGreaterThan(span(events, second.body.runId).end);
    void socket;
  });

  it('two users with the same threadId never block each other', async () => {
    const ivy = await userSocket('ivy');
    const jon = await userSocket('jon');
    const threadId = 'shared-name';
    const a = await command(ivy.socket, 'run:start', { ...long, threadId, multitask: 'reject' });
    const b = await command(jon.socket, 'run:start', { ...long, threadId, multitask: 'reject' });
    expect([a.status, b.status]).toEqual(['running', 'running']);
    // Interrupt by one user does not touch the other's run.
    const c = await command(jon.socket, 'run:start', { ...short(), threadId, multitask: 'interrupt' });
    expect(await waitForTerminal(jon.events, b.runId)).toMatchObject({ data: { reason: 'superseded' } });
    await waitForTerminal(jon.events, c.runId);
    expect(ofRun(ivy.events, a.runId).some((e) => e.type === 'agent_cancelled')).toBe(false);
    expect((await ivy.http.get(`/runs/${a.runId}`)).body.status).toBe('running');
    await command(ivy.socket, 'run:cancel', { runId: a.runId });
  });

  it('rejects an unknown multitask policy with VALIDATION_FAILED', async () => {
    const { socket, http } = await userSocket('kim');
    expect(await command(socket, 'run:start', { ...short(), threadId: thread(), multitask: 'rollback' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    expect((await http.post('/runs', { ...short(), multitask: 'later' })).status).toBe(400);
  });
});

describe('thread queue and the per-user limits (one node)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MAX_CONCURRENT_RUNS_PER_USER: '2', RUN_TIMEOUT_MS: '2000' });
  });
  afterAll(() => t.close());

  it('queued runs do not count toward MAX_CONCURRENT_RUNS_PER_USER; a free thread at the limit is refused', async () => {
    const socket = await t.connect('lou');
    const events = recordEvents(socket);
    const long = { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } };
    const a1 = await command(socket, 'run:start', { ...long, threadId: 'a' });
    const a2 = await command(socket, 'run:start', { ...long, threadId: 'a' });
    const a3 = await command(socket, 'run:start', { agent: 'echo', input: { text: 'a3' }, threadId: 'a' });
    const b1 = await command(socket, 'run:start', { ...long, threadId: 'b' });
    expect([a1.status, a2.status, a3.status, b1.status]).toEqual(['running', 'queued', 'queued', 'running']);
    expect(await command(socket, 'run:start', { ...long, threadId: 'c' })).toMatchObject({ ok: false, error: { code: 'TOO_MANY_RUNS' } });
    expect(await command(socket, 'run:start', long)).toMatchObject({ ok: false, error: { code: 'TOO_MANY_RUNS' } });
    await command(socket, 'run:cancel', { runId: a1.runId });
    await waitFor(() => ofRun(events, a2.runId).length >= 1, 'the next run of thread a to start');
    await command(socket, 'run:cancel', { runId: a2.runId });
    expect((await waitForTerminal(events, a3.runId)).type).toBe('agent_completed');
    await command(socket, 'run:cancel', { runId: b1.runId });
  });

  it('RUN_TIMEOUT_MS counts from the start, not from queueing', async () => {
    const socket = await t.connect('max');
    const events = recordEvents(socket);
    // 1.5 s, then 1 s: the second run waits 1.5 s in the queue, longer than the 2 s timeout allows in all.
    const first = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 15, intervalMs: 100 }, threadId: 'timed' });
    const second = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 10, intervalMs: 100 }, threadId: 'timed' });
    expect(second.status).toBe('queued');
    expect((await waitForTerminal(events, first.runId)).type).toBe('agent_completed');
    expect(await waitForTerminal(events, second.runId)).toMatchObject({ type: 'agent_completed', data: { result: 10 } });
  });
});
