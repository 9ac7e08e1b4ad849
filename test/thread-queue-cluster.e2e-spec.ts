import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { startServerProcess, TEST_AGENTS_MAIN, type ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';

const LEASE_MS = 1500;
const TERMINAL = ['agent_completed', 'agent_error', 'agent_cancelled'];

/** The multitask policy across two nodes sharing Redis and PostgreSQL. */
describeCluster('thread multitask policy on two nodes', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const suffix = uniqueSuffix();
  const user = (name: string) => `${name}-${suffix}`;
  const long = { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } };

  beforeAll(async () => {
    nodes = await startTwoNodes('threadq', {
      RUN_LEASE_MS: String(LEASE_MS),
      MAX_CONCURRENT_RUNS_PER_USER: '10',
      SHUTDOWN_GRACE_MS: '200',
    });
    ({ a, b } = nodes);
  });
  afterAll(async () => nodes?.stop());

  async function events(node: ServerProcess, userId: string, runId: string): Promise<AgentEventEnvelope[]> {
    const res = await fetch(`${node.url}/runs/${runId}/events`, { headers: { authorization: `Bearer ${node.token(userId)}` } });
    return ((await res.json()) as { events: AgentEventEnvelope[] }).events;
  }

  async function run(node: ServerProcess, userId: string, runId: string): Promise<any> {
    const res = await fetch(`${node.url}/runs/${runId}`, { headers: { authorization: `Bearer ${node.token(userId)}` } });
    return res.json();
  }

  it('reject: racing starts on one thread from both nodes admit exactly one', async () => {
    const u = user('rita');
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    for (let round = 0; round < 3; round++) {
      const threadId = `race-${round}`;
      const acks = await Promise.all([
        command(onA, 'run:start', { ...long, threadId, multitask: 'reject' }),
        command(onB, 'run:start', { ...long, threadId, multitask: 'reject' }),
        command(onA, 'run:start', { ...long, threadId, multitask: 'reject' }),
        command(onB, 'run:start', { ...long, threadId, multitask: 'reject' }),
      ]);
      expect(acks.filter((x) => x.ok)).toHaveLength(1);
      expect(acks.filter((x) => !x.ok).map((x) => x.error.code)).toEqual(['THREAD_BUSY', 'THREAD_BUSY', 'THREAD_BUSY']);
      await command(onA, 'run:cancel', { runId: acks.find((x) => x.ok).runId });
    }
  });

  it('enqueue: racing starts from both nodes run one at a time, each well formed, in the order of their queue', async () => {
    const u = user('eve');
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    const live = recordEvents(onA);
    const threadId = 'queue';
    const quick = { agent: 'countdown', input: { steps: 3, intervalMs: 200 }, threadId };
    const acks = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => command(i % 2 ? onB : onA, 'run:start', quick)));
    expect(acks.every((x) => x.ok)).toBe(true);
    expect(acks.filter((x) => x.status === 'running')).toHaveLength(1);
    for (const ack of acks) expect((await waitForTerminal(live, ack.runId, 20_000)).type).toBe('agent_completed');
    const spans = [];
    for (const ack of acks) {
      const stored = await events(a, u, ack.runId);
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
      expect(stored[0].type).toBe('agent_started');
      expect(TERMINAL).toContain(stored[stored.length - 1].type);
      spans.push({ start: stored[0].ts, end: stored[stored.length - 1].ts });
    }
    spans.sort((x, y) => x.start.localeCompare(y.start));
    for (let i = 1; i < spans.length; i++) expect(spans[i].start >= spans[i - 1].end).toBe(true);
  });

  it('interrupt from A cancels a run executing on B and a queued run (reason superseded), then starts', async () => {
    const u = user('ian');
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    const live = recordEvents(onA);
    const threadId = 'interrupted';
    const onBRun = await command(onB, 'run:start', { ...long, threadId });
    const queued = await command(onB, 'run:start', { ...long, threadId });
    expect([onBRun.status, queued.status]).toEqual(['running', 'queued']);
    await waitFor(() => ofRun(live, onBRun.runId).length >= 2, 'the run on B to be going');
    const newest = await command(onA, 'run:start', { agent: 'echo', input: { text: 'instead' }, threadId, multitask: 'interrupt' });
    expect(newest.ok).toBe(true);
    expect(await waitForTerminal(live, onBRun.runId)).toMatchObject({ type: 'agent_cancelled', data: { reason: 'superseded' } });
    expect(await waitForTerminal(live, newest.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'instead' } });
    expect(await events(a, u, queued.runId)).toEqual([
      expect.objectContaining({ seq: 1, type: 'agent_cancelled', data: { reason: 'superseded' } }),
    ]);
    const started = (await events(a, u, newest.runId))[0];
    const cancelled = (await events(a, u, onBRun.runId)).slice(-1)[0];
    expect(started.ts >= cancelled.ts).toBe(true);
  });

  it('queues on A behind a run B started on a new thread, and starts it once that run ends', async () => {
    const u = user('noor');
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    const live = recordEvents(onA);
    const first = await command(onB, 'run:start', { agent: 'countdown', input: { steps: 5, intervalMs: 40 } });
    const second = await command(onA, 'run:start', { agent: 'echo', input: { text: 'behind' }, threadId: first.threadId });
    expect([first.status, second.status]).toEqual(['running', 'queued']);
    expect(await waitForTerminal(live, second.runId, 15_000)).toMatchObject({ type: 'agent_completed', data: { result: 'behind' } });
    const started = (await events(a, u, second.runId))[0];
    const ended = (await events(a, u, first.runId)).slice(-1)[0];
    expect(ended.type).toBe('agent_completed');
    expect(started.ts >= ended.ts).toBe(true);
  });

  it('cancels from B a run queued on A; the queue then goes on', async () => {
    const u = user('cory');
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    const live = recordEvents(onA);
    const threadId = 'cancelled';
    const first = await command(onA, 'run:start', { ...long, threadId });
    const second = await command(onA, 'run:start', { ...long, threadId });
    const third = await command(onA, 'run:start', { agent: 'echo', input: { text: 'third' }, threadId });
    expect(await run(b, u, third.runId)).toMatchObject({ status: 'queued', queuePosition: 2, queuedBehind: second.runId });
    expect(await command(onB, 'run:cancel', { runId: second.runId })).toEqual({ ok: true, runId: second.runId });
    expect(await waitForTerminal(live, second.runId)).toMatchObject({ seq: 1, type: 'agent_cancelled', data: { reason: 'user' } });
    expect(await command(onB, 'run:cancel', { runId: first.runId })).toEqual({ ok: true, runId: first.runId });
    expect(await waitForTerminal(live, third.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'third' } });
  });

  it('starts on the surviving node a run queued behind a run of a node killed with SIGKILL, exactly once', async () => {
    const u = user('kat');
    const c = await startServerProcess(nodes.env, { main: TEST_AGENTS_MAIN });
    const onA = await a.connect(u);
    const live = recordEvents(onA);
    const onC = await c.connect(u);
    const threadId = 'orphaned';
    // Not durable, so it ends with its node (a durable run would be resumed and hold its thread).
    const doomed = await command(onC, 'run:start', { agent: 'ticker', input: { steps: 1000, intervalMs: 300 }, threadId });
    const waiting = await command(onC, 'run:start', { agent: 'countdown', input: { steps: 3, intervalMs: 20 }, threadId });
    expect(waiting.status).toBe('queued');
    await waitFor(() => ofRun(live, doomed.runId).length >= 2, 'the run on C to be going');
    await new Promise((r) => setTimeout(r, 100));
    c.kill('SIGKILL');
    await c.exited;
    expect(await waitForTerminal(live, doomed.runId, LEASE_MS * 4 + 5000)).toMatchObject({
      type: 'agent_error',
      data: { code: 'INTERRUPTED' },
    });
    expect((await waitForTerminal(live, waiting.runId, 10_000)).type).toBe('agent_completed');
    const stored = await events(b, u, waiting.runId);
    expect(stored.map((e) => e.type)).toEqual(['agent_started', 'agent_thinking', 'agent_thinking', 'agent_thinking', 'agent_completed']);
    // Started once: no second agent_started reached the user's socket.
    expect(ofRun(live, waiting.runId).filter((e) => e.type === 'agent_started')).toHaveLength(1);
  });
});

/** Without the sweep's help: the node queueing a run tells the node executing the run ahead. */
describeCluster('thread queue wake-up between two nodes', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const u = `wanda-${uniqueSuffix()}`;

  beforeAll(async () => {
    // A sweep once a minute: whatever starts within the test was started by a wake-up.
    nodes = await startTwoNodes('threadwake', { THREAD_QUEUE_SWEEP_MS: '60000' });
    ({ a, b } = nodes);
  });
  afterAll(async () => nodes?.stop());

  it('starts a run queued on A as soon as the run ahead of it ends on B, also behind a run that started a new thread', async () => {
    const [onA, onB] = [await a.connect(u), await b.connect(u)];
    const live = recordEvents(onA);
    for (const named of [true, false]) {
      const first = await command(onB, 'run:start', {
        agent: 'countdown',
        input: { steps: 4, intervalMs: 50 },
        ...(named ? { threadId: `woken-${uniqueSuffix()}` } : {}),
      });
      const second = await command(onA, 'run:start', { agent: 'echo', input: { text: 'woken' }, threadId: first.threadId });
      expect([first.status, second.status]).toEqual(['running', 'queued']);
      await waitForTerminal(live, first.runId);
      expect(await waitForTerminal(live, second.runId, 5000)).toMatchObject({ type: 'agent_completed', data: { result: 'woken' } });
    }
  });
});
