import { randomUUID } from 'node:crypto';
import { RUN_STORE, type AgentEventEnvelope, type AgentEventType, type RunStore } from '@agent-pipeline/nestjs';
import { RunEventBus } from '../packages/nestjs/src/emitter/run-event.bus';
import { envelopeOf, HttpClient, isTerminalMessage, type SseMessage } from './support/http-client';
import { expectWellFormedRun, startTestApp, TestApp, waitFor } from './support/test-app';

/** Checks that every message is well formed: `id` is the seq, `event` the type, `data` the envelope. */
function expectMessagesMatchEnvelopes(messages: SseMessage[]): void {
  for (const message of messages) {
    const envelope = envelopeOf(message);
    expect(message.id).toBe(String(envelope.seq));
    expect(message.event).toBe(envelope.type);
  }
}

describe('GET /runs/:runId/stream (Server-Sent Events)', () => {
  let t: TestApp;
  let alice: HttpClient;
  beforeAll(async () => {
    // Keep-alive comments often enough to be seen by a test, rarely enough not to crowd the stream.
    t = await startTestApp({ SSE_KEEPALIVE_MS: '100' });
    alice = new HttpClient(t.url, t.token('alice'));
  });
  afterAll(() => t.close());

  it('streams a run from its start to its terminal event, then ends', async () => {
    const { runId, threadId } = (await alice.post('/runs', { agent: 'countdown', input: { steps: 5, intervalMs: 20 } })).body;
    const stream = await alice.stream(`/runs/${runId}/stream`);
    expect(stream.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('cache-control')).toContain('no-cache');
    const { messages } = await stream.readAll();
    expect(messages.map((m) => m.id)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(messages.map((m) => m.event)).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_thinking',
      'agent_thinking',
      'agent_thinking',
      'agent_thinking',
      'agent_completed',
    ]);
    expectMessagesMatchEnvelopes(messages);
    const envelopes = messages.map(envelopeOf);
    expectWellFormedRun(envelopes, { runId, threadId, agent: 'countdown' });
    // Exactly what the store holds.
    expect((await alice.get(`/runs/${runId}/events`)).body.events).toEqual(envelopes);
  });

  it('replays a finished run and ends', async () => {
    const { runId } = (await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'done' } })).body;
    const { messages } = await (await alice.stream(`/runs/${runId}/stream`)).readAll();
    expect(messages.map((m) => `${m.id}:${m.event}`)).toEqual([
      '1:agent_started',
      '2:agent_thinking',
      '3:agent_message_delta',
      '4:agent_completed',
    ]);
    expect(envelopeOf(messages[3]).data).toMatchObject({ result: 'done' });
  });

  it('resumes after Last-Event-ID with exactly the later events', async () => {
    const { runId } = (await alice.post('/runs?wait=true', { agent: 'calculator', input: { expression: '6 ÷ 3' } })).body;
    const { messages } = await (await alice.stream(`/runs/${runId}/stream`, { 'Last-Event-ID': '2' })).readAll();
    expect(messages.map((m) => m.id)).toEqual(['3', '4', '5']);
    expect(messages.map((m) => m.event)).toEqual(['tool_executing', 'tool_completed', 'agent_completed']);
    expectMessagesMatchEnvelopes(messages);
  });

  it('honours ?afterSeq= and lets Last-Event-ID win over it (a browser reconnecting keeps the URL)', async () => {
    const { runId } = (await alice.post('/runs?wait=true', { agent: 'calculator', input: { expression: '1 + 1' } })).body;
    const byQuery = await (await alice.stream(`/runs/${runId}/stream?afterSeq=3`)).readAll();
    expect(byQuery.messages.map((m) => m.id)).toEqual(['4', '5']);
    const both = await (await alice.stream(`/runs/${runId}/stream?afterSeq=1`, { 'Last-Event-ID': '4' })).readAll();
    expect(both.messages.map((m) => m.id)).toEqual(['5']);
  });

  it('ends at once, empty, when Last-Event-ID is the terminal event of a finished run', async () => {
    const { runId, lastSeq } = (await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'x' } })).body;
    const { messages } = await (await alice.stream(`/runs/${runId}/stream`, { 'Last-Event-ID': String(lastSeq) })).readAll();
    expect(messages).toEqual([]);
  });

  it('resumes a live run after Last-Event-ID: stored part, then live part, no gap and no repeat', async () => {
    const { runId } = (await alice.post('/runs', { agent: 'countdown', input: { steps: 4, intervalMs: 150 } })).body;
    // Wait until some events are stored, so the resume starts with a stored part.
    let stored: any[] = [];
    const deadline = Date.now() + 10_000;
    while (stored.length < 2 && Date.now() < deadline) stored = (await alice.get(`/runs/${runId}/events`)).body.events;
    expect(stored.length).toBeGreaterThanOrEqual(2);
    const { messages } = await (await alice.stream(`/runs/${runId}/stream`, { 'Last-Event-ID': '1' })).readAll();
    expect(messages.map((m) => m.id)).toEqual(['2', '3', '4', '5', '6']);
    expect(messages[messages.length - 1].event).toBe('agent_completed');
    expectMessagesMatchEnvelopes(messages);
  });

  it('gives every follower of a fast run each event exactly once, whenever it joins', async () => {
    const steps = 300;
    const { runId } = (await alice.post('/runs', { agent: 'countdown', input: { steps, intervalMs: 0 } })).body;
    // Followers join while the run is emitting, each from a different point, so some of them
    // subscribe while events are being stored: the window where an event could be lost or doubled.
    const followers: Array<Promise<{ from: number; ids: string[] }>> = [];
    for (let i = 0; i < 8; i++) {
      const events = (await alice.get(`/runs/${runId}/events`)).body.events as any[];
      const from = events.length > 0 ? events[events.length - 1].seq - (i % 2) : 0;
      followers.push(
        alice
          .stream(`/runs/${runId}/stream`, { 'Last-Event-ID': String(from) })
          .then((s) => s.readAll())
          .then(({ messages }) => ({ from, ids: messages.map((m) => m.id!) })),
      );
    }
    const total = steps + 2;
    for (const { from, ids } of await Promise.all(followers)) {
      const expected = Array.from({ length: total - from }, (_, k) => String(from + k + 1));
      expect(ids).toEqual(expected);
    }
  });

  it('sends keep-alive comments on an idle stream, and ends with agent_cancelled when the run is cancelled', async () => {
    const { runId } = (await alice.post('/runs', { agent: 'countdown', input: { steps: 1, intervalMs: 60_000 } })).body;
    const stream = await alice.stream(`/runs/${runId}/stream`);
    const { comment, messages } = await stream.readUntilComment();
    expect(comment).toBe('keep-alive');
    expect(messages.map((m) => m.event)).toEqual(['agent_started']);
    expect((await alice.post(`/runs/${runId}/cancel`)).status).toBe(202);
    const rest = await stream.readAll();
    expect(rest.messages.map((m) => `${m.id}:${m.event}`)).toEqual(['2:agent_cancelled']);
    expect(envelopeOf(rest.messages[0]).data).toEqual({ reason: 'user' });
  });

  it('drops its subscription when the client goes away', async () => {
    const bus = t.app.get(RunEventBus);
    const before = bus.followedRuns;
    const { runId } = (await alice.post('/runs', { agent: 'countdown', input: { steps: 1, intervalMs: 60_000 } })).body;
    const stream = await alice.stream(`/runs/${runId}/stream`);
    await stream.readUntil((m) => m.event === 'agent_started');
    expect(bus.followedRuns).toBe(before + 1);
    await stream.cancel();
    await waitFor(() => bus.followedRuns === before, 'the stream subscription to be dropped');
    // The run itself goes on: leaving a stream is not a cancel.
    expect((await alice.get(`/runs/${runId}`)).body.status).toBe('running');
    expect((await alice.post(`/runs/${runId}/cancel`)).status).toBe(202);
  });

  it("is 404 RUN_NOT_FOUND (JSON, not a stream) for another user's run", async () => {
    const { runId } = (await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'private' } })).body;
    const res = await new HttpClient(t.url, t.token('mallory')).get(`/runs/${runId}/stream`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body).toEqual({ statusCode: 404, code: 'RUN_NOT_FOUND', message: expect.any(String) });
  });

  it('is 401 without a token', async () => {
    const res = await alice.as(undefined).get('/runs/any/stream');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it.each([
    ['Last-Event-ID', { 'Last-Event-ID': 'seven' }, ''],
    ['Last-Event-ID', { 'Last-Event-ID': '-1' }, ''],
    ['afterSeq', {}, '?afterSeq=x'],
  ])('refuses a bad %s with 400 VALIDATION_FAILED', async (_what, headers, query) => {
    const { runId } = (await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'x' } })).body;
    const res = await alice.get(`/runs/${runId}/stream${query}`, headers as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('ends every stream with exactly one terminal event', async () => {
    const { runId } = (await alice.post('/runs', { agent: 'failing', input: { message: 'nope' } })).body;
    const { messages } = await (await alice.stream(`/runs/${runId}/stream`)).readAll();
    expect(messages.filter(isTerminalMessage)).toHaveLength(1);
    expect(messages[messages.length - 1]).toMatchObject({ event: 'agent_error' });
    expect(envelopeOf(messages[messages.length - 1]).data).toEqual({ code: 'AGENT_FAILED', message: 'nope' });
  });
});

describe('Server-Sent Events of a run executing on another node', () => {
  let t: TestApp;
  let http: HttpClient;
  let store: RunStore;
  beforeAll(async () => {
    t = await startTestApp({ SSE_KEEPALIVE_MS: '50' });
    http = new HttpClient(t.url, t.token('alice'));
    store = t.app.get<RunStore>(RUN_STORE);
  });
  afterAll(() => t.close());

  /** A run that another node executes: it is in the shared store, but no event of it passes this process's bus. */
  async function remoteRun(): Promise<{
    runId: string;
    envelope: (seq: number, type: AgentEventType, data: object) => AgentEventEnvelope;
  }> {
    const runId = randomUUID();
    const now = new Date();
    await store.createRun({
      runId,
      threadId: 't-remote',
      userId: 'alice',
      agent: 'echo',
      input: { text: 'far' },
      createdAt: now,
      nodeId: 'other-node',
      leaseUntil: new Date(now.getTime() + 60_000),
    });
    const envelope = (seq: number, type: AgentEventType, data: object) =>
      ({ runId, threadId: 't-remote', seq, type, agent: 'echo', ts: new Date().toISOString(), data }) as AgentEventEnvelope;
    return { runId, envelope };
  }

  it('follows it through the store while idle, and ends after its terminal event', async () => {
    const { runId, envelope } = await remoteRun();
    const stream = await http.stream(`/runs/${runId}/stream`);
    expect(stream.status).toBe(200);
    await store.appendEvents([envelope(1, 'agent_started', { input: { text: 'far' } })]);
    const first = await stream.readUntil((m) => m.id === '1');
    await store.appendEvents([
      envelope(2, 'agent_message_delta', { messageId: 'm', delta: 'far' }),
      envelope(3, 'agent_completed', { result: 'far', durationMs: 1 }),
    ]);
    const { messages } = await stream.readAll();
    expect([...first, ...messages].map((m) => `${m.id}:${m.event}`)).toEqual([
      '1:agent_started',
      '2:agent_message_delta',
      '3:agent_completed',
    ]);
  });

  it('ends open streams at shutdown, so the server can close', async () => {
    const own = await startTestApp({ SSE_KEEPALIVE_MS: '50' });
    const ownStore = own.app.get<RunStore>(RUN_STORE);
    const runId = randomUUID();
    const now = new Date();
    await ownStore.createRun({
      runId,
      threadId: 't',
      userId: 'alice',
      agent: 'echo',
      input: null,
      createdAt: now,
      nodeId: 'other-node',
      leaseUntil: new Date(now.getTime() + 60_000),
    });
    const stream = await new HttpClient(own.url, own.token('alice')).stream(`/runs/${runId}/stream`);
    await stream.readUntilComment();
    // Nothing on this node will ever end that run: only the shutdown can end its stream.
    await own.close();
    expect((await stream.readAll()).messages).toEqual([]);
  });
});
