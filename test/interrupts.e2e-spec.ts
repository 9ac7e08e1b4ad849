import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/nestjs';
import { HttpClient } from './support/http-client';
import { metricValue } from './support/metrics';
import {
  command,
  expectWellFormedRun,
  ofRun,
  recordEvents,
  roundTrip,
  startTestApp,
  TestApp,
  waitFor,
  waitForTerminal,
} from './support/test-app';
import { APPROVED_APPROVAL_RUN } from './support/demo-runs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the run's `interrupt_requested` and returns its data. */
async function question(events: AgentEventEnvelope[], runId: string): Promise<InterruptRequestedData> {
  await waitFor(() => ofRun(events, runId).some((e) => e.type === 'interrupt_requested'), `interrupt_requested of ${runId}`);
  return ofRun(events, runId).find((e) => e.type === 'interrupt_requested')!.data as InterruptRequestedData;
}

describe('interrupts: the approval agent, answered over sockets and HTTP', () => {
  let t: TestApp;
  let http: HttpClient;
  let tab1: Socket;
  let tab2: Socket;
  let tab1Events: AgentEventEnvelope[];
  let tab2Events: AgentEventEnvelope[];
  let mallory: Socket;
  let malloryEvents: AgentEventEnvelope[];

  beforeAll(async () => {
    t = await startTestApp();
    http = new HttpClient(t.url, t.token('alice'));
    tab1 = await t.connect('alice');
    tab1Events = recordEvents(tab1);
    tab2 = await t.connect('alice');
    tab2Events = recordEvents(tab2);
    mallory = await t.connect('mallory');
    malloryEvents = recordEvents(mallory);
  });
  afterAll(() => t.close());

  async function startApproval(input: Record<string, unknown> = { action: 'deploy' }): Promise<{ runId: string; threadId: string }> {
    const ack = await command(tab1, 'run:start', { agent: 'approval', input });
    expect(ack).toMatchObject({ ok: true, status: 'running' });
    return ack;
  }

  it('approved over a socket: waiting with its question, then the tool runs and the run completes', async () => {
    const { runId, threadId } = await startApproval({ action: 'deploy' });
    const asked = await question(tab1Events, runId);
    expect(asked).toEqual({
      interruptId: expect.any(String),
      kind: 'approval',
      message: 'Approve: deploy?',
      tool: 'perform',
      args: { action: 'deploy' },
      toolCallId: expect.any(String),
      expiresAt: expect.any(String),
    });
    // 24 h by default (INTERRUPT_TIMEOUT_MS).
    expect(Date.parse(asked.expiresAt) - Date.now()).toBeGreaterThan(86_000_000);

    // Stored before it is published: the run reads `waiting`, with its question.
    const described = await http.get(`/runs/${runId}`);
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ runId, status: 'waiting', interrupt: asked });
    const listed = await http.get('/runs?status=waiting');
    expect(listed.body.runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    expect(await metricValue(t.url, 'agent_pipeline_waiting_runs')).toBe(1);

    const ack = await command(tab1, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(ack).toEqual({ ok: true, runId, interruptId: asked.interruptId, resolution: 'approved' });

    const terminal = await waitForTerminal(tab1Events, runId);
    expect(terminal.data).toMatchObject({ result: 'performed deploy' });
    const events = ofRun(tab1Events, runId);
    expect(expectWellFormedRun(events, { runId, threadId, agent: 'approval' })).toEqual([...APPROVED_APPROVAL_RUN]);
    expect(events[3].data).toEqual({ interruptId: asked.interruptId, resolution: 'approved' });
    expect(events[4].data).toEqual({ toolCallId: asked.toolCallId, tool: 'perform', args: { action: 'deploy' } });
    expect(events[5].data).toMatchObject({ toolCallId: asked.toolCallId, tool: 'perform', result: 'performed deploy' });

    // The other tab of the same user saw the same run; the other user saw nothing.
    await roundTrip(tab2);
    expect(ofRun(tab2Events, runId).map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    expect(malloryEvents).toEqual([]);

    // Replay (HTTP events) shows the question and its answer; the run is no longer waiting.
    const stored = await http.get(`/runs/${runId}/events`);
    expect(stored.body.events).toEqual(events);
    const after = await http.get(`/runs/${runId}`);
    expect(after.body).toMatchObject({ status: 'completed', result: 'performed deploy' });
    expect(after.body.interrupt).toBeUndefined();
    expect(await metricValue(t.url, 'agent_pipeline_waiting_runs')).toBe(0);
  });

  it('denied over HTTP with a reason: the run completes with "declined" and the reason is in the event', async () => {
    const { runId } = await startApproval({ action: 'drop the table' });
    const asked = await question(tab1Events, runId);
    const answer = await http.post(`/runs/${runId}/interrupts/${asked.interruptId}`, { approved: false, reason: 'not today' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ runId, interruptId: asked.interruptId, resolution: 'denied' });

    const terminal = await waitForTerminal(tab1Events, runId);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'declined' } });
    const types = ofRun(tab1Events, runId).map((e) => e.type);
    expect(types).toEqual(['agent_started', 'agent_thinking', 'interrupt_requested', 'interrupt_resolved', 'agent_completed']);
    expect(ofRun(tab1Events, runId)[3].data).toEqual({ interruptId: asked.interruptId, resolution: 'denied', reason: 'not today' });

    // The SSE stream of the finished run replays the question and its answer.
    const sse = await http.stream(`/runs/${runId}/stream`);
    const { messages } = await sse.readAll();
    expect(messages.map((m) => m.event)).toEqual(types);
  });

  it('expires after its own timeoutMs: resolution expired, the run completes "declined", a late answer gets INTERRUPT_RESOLVED', async () => {
    const { runId } = await startApproval({ action: 'wait', timeoutMs: 200 });
    const asked = await question(tab1Events, runId);
    expect(Date.parse(asked.expiresAt) - Date.now()).toBeLessThanOrEqual(200);
    const terminal = await waitForTerminal(tab1Events, runId);
    expect(terminal.data).toMatchObject({ result: 'declined' });
    expect(ofRun(tab1Events, runId).find((e) => e.type === 'interrupt_resolved')?.data).toEqual({
      interruptId: asked.interruptId,
      resolution: 'expired',
    });

    const late = await command(tab2, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(late).toMatchObject({ ok: false, error: { code: 'INTERRUPT_RESOLVED' } });
    const lateHttp = await http.post(`/runs/${runId}/interrupts/${asked.interruptId}`, { approved: true });
    expect(lateHttp.status).toBe(409);
    expect(lateHttp.body).toMatchObject({ statusCode: 409, code: 'INTERRUPT_RESOLVED' });
  });

  it('two tabs answering at once: exactly one wins, the other gets INTERRUPT_RESOLVED, one interrupt_resolved is emitted', async () => {
    const { runId } = await startApproval({ action: 'race' });
    const asked = await question(tab1Events, runId);
    const [first, second] = await Promise.all([
      command(tab1, 'run:resume', { runId, interruptId: asked.interruptId, approved: true }),
      command(tab2, 'run:resume', { runId, interruptId: asked.interruptId, approved: false }),
    ]);
    const acks = [first, second];
    const winners = acks.filter((a) => a.ok);
    const losers = acks.filter((a) => !a.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([{ ok: false, error: expect.objectContaining({ code: 'INTERRUPT_RESOLVED' }) }]);

    const terminal = await waitForTerminal(tab1Events, runId);
    const resolved = ofRun(tab1Events, runId).filter((e) => e.type === 'interrupt_resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0].data).toMatchObject({ resolution: winners[0].resolution });
    expect(terminal.data).toMatchObject({ result: winners[0].resolution === 'approved' ? 'performed race' : 'declined' });
  });

  it("refuses another user's answer with RUN_NOT_FOUND, a wrong id with INTERRUPT_NOT_FOUND, a bad answer with VALIDATION_FAILED; the question stays open", async () => {
    const { runId } = await startApproval({ action: 'guarded' });
    const asked = await question(tab1Events, runId);

    const foreign = await command(mallory, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
    const foreignHttp = await http.as(t.token('mallory')).post(`/runs/${runId}/interrupts/${asked.interruptId}`, { approved: true });
    expect(foreignHttp.status).toBe(404);
    expect(foreignHttp.body).toMatchObject({ code: 'RUN_NOT_FOUND' });

    const unknown = await command(tab1, 'run:resume', { runId, interruptId: 'no-such-question', approved: true });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'INTERRUPT_NOT_FOUND' } });
    const unknownHttp = await http.post(`/runs/${runId}/interrupts/no-such-question`, { approved: true });
    expect(unknownHttp.status).toBe(404);
    expect(unknownHttp.body).toMatchObject({ code: 'INTERRUPT_NOT_FOUND' });

    const noAnswer = await command(tab1, 'run:resume', { runId, interruptId: asked.interruptId });
    expect(noAnswer).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const badType = await http.post(`/runs/${runId}/interrupts/${asked.interruptId}`, { approved: 'yes' });
    expect(badType.status).toBe(400);
    expect(badType.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const missingIds = await command(tab1, 'run:resume', { approved: true });
    expect(missingIds).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });

    // Still open: nothing resolved it, and the owner's answer works.
    expect((await http.get(`/runs/${runId}`)).body).toMatchObject({ status: 'waiting', interrupt: { interruptId: asked.interruptId } });
    expect(ofRun(tab1Events, runId).some((e) => e.type === 'interrupt_resolved')).toBe(false);
    expect(malloryEvents).toEqual([]);
    const ack = await command(tab2, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(ack).toMatchObject({ ok: true, resolution: 'approved' });
    expect((await waitForTerminal(tab1Events, runId)).data).toMatchObject({ result: 'performed guarded' });
  });

  it('a waiting run holds its thread: reject refuses, enqueue queues behind it until it is answered', async () => {
    const threadId = `approval-thread-${Date.now()}`;
    const first = await command(tab1, 'run:start', { agent: 'approval', input: { action: 'hold the thread' }, threadId });
    expect(first).toMatchObject({ ok: true, status: 'running' });
    const asked = await question(tab1Events, first.runId);
    const refused = await command(tab1, 'run:start', { agent: 'echo', input: { text: 'next' }, threadId, multitask: 'reject' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'THREAD_BUSY' } });
    const queued = await command(tab1, 'run:start', { agent: 'echo', input: { text: 'next' }, threadId, multitask: 'enqueue' });
    expect(queued).toMatchObject({ ok: true, status: 'queued' });
    expect((await http.get(`/runs/${queued.runId}`)).body).toMatchObject({ status: 'queued', queuedBehind: first.runId });

    expect(await command(tab1, 'run:resume', { runId: first.runId, interruptId: asked.interruptId, approved: true })).toMatchObject({
      ok: true,
    });
    await waitForTerminal(tab1Events, first.runId);
    expect((await waitForTerminal(tab1Events, queued.runId)).data).toMatchObject({ result: 'next' });
  });

  it('a cancel of a waiting run ends it as usual; answering afterwards gets INTERRUPT_RESOLVED', async () => {
    const { runId, threadId } = await startApproval({ action: 'cancel me' });
    const asked = await question(tab1Events, runId);
    expect(await command(tab2, 'run:cancel', { runId })).toEqual({ ok: true, runId });
    const terminal = await waitForTerminal(tab1Events, runId);
    expect(terminal).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
    expect(expectWellFormedRun(ofRun(tab1Events, runId), { runId, threadId, agent: 'approval' })).toEqual([
      'agent_started',
      'agent_thinking',
      'interrupt_requested',
      'agent_cancelled',
    ]);
    expect((await http.get(`/runs/${runId}`)).body).toMatchObject({ status: 'cancelled' });
    const late = await command(tab1, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(late).toMatchObject({ ok: false, error: { code: 'INTERRUPT_RESOLVED' } });
  });
});

describe('interrupts: timeouts and limits', () => {
  let t: TestApp;
  let http: HttpClient;
  let alice: Socket;
  let events: AgentEventEnvelope[];

  beforeAll(async () => {
    t = await startTestApp({ RUN_TIMEOUT_MS: '400', INTERRUPT_TIMEOUT_MS: '1500', MAX_CONCURRENT_RUNS_PER_USER: '1' });
    http = new HttpClient(t.url, t.token('alice'));
    alice = await t.connect('alice');
    events = recordEvents(alice);
  });
  afterAll(() => t.close());

  it('time spent waiting does not count toward RUN_TIMEOUT_MS, and a waiting run counts toward MAX_CONCURRENT_RUNS_PER_USER', async () => {
    const start = await command(alice, 'run:start', { agent: 'approval', input: { action: 'slowly' } });
    const asked = await question(events, start.runId);
    // A second run is refused while the first waits: it still holds the user's one slot.
    const second = await command(alice, 'run:start', { agent: 'echo', input: { text: 'hi' } });
    expect(second).toMatchObject({ ok: false, error: { code: 'TOO_MANY_RUNS' } });
    // Well past RUN_TIMEOUT_MS (400 ms) while waiting: the run must still be alive.
    await sleep(700);
    expect((await http.get(`/runs/${start.runId}`)).body.status).toBe('waiting');
    expect(await command(alice, 'run:resume', { runId: start.runId, interruptId: asked.interruptId, approved: true })).toMatchObject({
      ok: true,
    });
    expect((await waitForTerminal(events, start.runId)).data).toMatchObject({ result: 'performed slowly' });
  });

  it('a question expires after INTERRUPT_TIMEOUT_MS when it asks for no shorter timeout', async () => {
    const start = await command(alice, 'run:start', { agent: 'approval', input: { action: 'forgotten' } });
    const asked = await question(events, start.runId);
    const expiresIn = Date.parse(asked.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(1000);
    expect(expiresIn).toBeLessThanOrEqual(1500);
    const terminal = await waitForTerminal(events, start.runId, 5000);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'declined' } });
    expect(ofRun(events, start.runId).find((e) => e.type === 'interrupt_resolved')?.data).toMatchObject({ resolution: 'expired' });
  });
});
