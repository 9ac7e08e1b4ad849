import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { startServerProcess, stopAllServerProcesses, TEST_AGENTS_MAIN, type ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';

const LEASE_MS = 1500;

describeCluster('two nodes sharing Redis and PostgreSQL', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const suffix = uniqueSuffix();
  const user = (name: string) => `${name}-${suffix}`;

  beforeAll(async () => {
    nodes = await startTwoNodes(
      'scaleout',
      {
        RUN_LEASE_MS: String(LEASE_MS),
        MAX_CONCURRENT_RUNS_PER_USER: '3',
        RATE_LIMIT_RUNS_PER_MINUTE: '120',
        SHUTDOWN_GRACE_MS: '200',
      },
      { main: TEST_AGENTS_MAIN },
    );
    ({ a, b } = nodes);
  });
  afterAll(async () => nodes?.stop());

  async function httpStart(node: ServerProcess, userId: string, body: unknown): Promise<{ runId: string; threadId: string }> {
    const res = await fetch(`${node.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${node.token(userId)}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { runId: string; threadId: string };
    if (res.status !== 202) throw new Error(`POST /runs answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }

  it('delivers every event of a run started over HTTP on B to the user’s socket on A, in order', async () => {
    const alice = user('alice');
    const socket = await a.connect(alice);
    const events = recordEvents(socket);
    const { runId } = await httpStart(b, alice, { agent: 'countdown', input: { steps: 5, intervalMs: 20 } });
    const terminal = await waitForTerminal(events, runId);
    expect(terminal.type).toBe('agent_completed');
    const run = ofRun(events, runId);
    expect(run.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(run.map((e) => e.type)).toEqual(['agent_started', ...Array(5).fill('agent_thinking'), 'agent_completed']);
    const fromA = (await (await fetch(`${a.url}/runs/${runId}`, { headers: { authorization: `Bearer ${a.token(alice)}` } })).json()) as {
      status: string;
      lastSeq: number;
    };
    expect(fromA).toMatchObject({ status: 'completed', lastSeq: 7 });
  });

  it('streams over SSE on A a run executing on B, every event once, in order', async () => {
    const henry = user('henry');
    const { runId } = await httpStart(b, henry, { agent: 'countdown', input: { steps: 8, intervalMs: 30 } });
    const res = await fetch(`${a.url}/runs/${runId}/stream`, { headers: { authorization: `Bearer ${a.token(henry)}` } });
    expect(res.status).toBe(200);
    const body = await res.text(); // the stream ends after the terminal event
    const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(body).toContain('event: agent_completed');
  });

  it('reports Redis and the store in /health', async () => {
    const res = await fetch(`${a.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ details: { store: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('cancels from A a run executing on B', async () => {
    const bob = user('bob');
    const onB = await b.connect(bob);
    const onA = await a.connect(bob);
    const events = recordEvents(onA);
    const started = await command(onB, 'run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 } });
    expect(started.ok).toBe(true);
    await waitFor(() => ofRun(events, started.runId).length >= 3, 'a few events on A');
    const t0 = Date.now();
    const ack = await command(onA, 'run:cancel', { runId: started.runId });
    expect(ack).toEqual({ ok: true, runId: started.runId });
    const terminal = await waitForTerminal(events, started.runId);
    console.log(`cross-node cancel: agent_cancelled on A ${Date.now() - t0} ms after run:cancel`);
    expect(terminal).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
    const again = await command(onA, 'run:cancel', { runId: started.runId });
    expect(again).toMatchObject({ ok: false, error: { code: 'RUN_FINISHED' } });
    const foreign = await command(await a.connect(user('mallory')), 'run:cancel', { runId: started.runId });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
  });

  it('replays on A the events of a run executing on B', async () => {
    const carol = user('carol');
    const onB = await b.connect(carol);
    const live = recordEvents(onB);
    const started = await command(onB, 'run:start', { agent: 'countdown', input: { steps: 30, intervalMs: 40 } });
    await waitFor(() => ofRun(live, started.runId).length >= 3, 'three events');
    // B writes its events every 25 ms: what A can replay from the shared store trails by that much.
    await new Promise((r) => setTimeout(r, 100));
    const onA = await a.connect(carol);
    const replayed: AgentEventEnvelope[] = [];
    for (const type of ['agent_started', 'agent_thinking', 'agent_completed']) onA.on(type, (e: AgentEventEnvelope) => replayed.push(e));
    const ack = await command(onA, 'run:replay', { runId: started.runId, afterSeq: 0 });
    expect(ack).toMatchObject({ ok: true, runId: started.runId, status: 'running' });
    // Live copies may arrive too (this socket is in carol's room); a client drops them by (runId, seq).
    const seenByAck = [...new Set(replayed.filter((e) => e.runId === started.runId).map((e) => e.seq))].sort((x, y) => x - y);
    expect(seenByAck.slice(0, ack.lastSeq)).toEqual(Array.from({ length: ack.lastSeq }, (_, i) => i + 1));
    expect(ack.lastSeq).toBeGreaterThanOrEqual(3);
    await waitForTerminal(live, started.runId);
  });

  it('isolates 20 users spread over both nodes, with concurrent runs', async () => {
    const users = Array.from({ length: 20 }, (_, i) => user(`u${i}`));
    const sockets = new Map<string, { socket: Socket; events: AgentEventEnvelope[] }[]>();
    for (const u of users) {
      const list = [];
      for (const node of [a, b]) {
        const socket = await node.connect(u);
        list.push({ socket, events: recordEvents(socket) });
      }
      sockets.set(u, list);
    }
    const runsByUser = new Map<string, string[]>();
    await Promise.all(
      users.map(async (u, i) => {
        const starter = sockets.get(u)![i % 2].socket;
        const acks = await Promise.all([
          command(starter, 'run:start', { agent: 'countdown', input: { steps: 3, intervalMs: 10 } }),
          command(starter, 'run:start', { agent: 'echo', input: { text: `hi ${u}` } }),
          command(starter, 'run:start', { agent: 'calculator', input: { expression: `${i} * 2` } }),
        ]);
        for (const ack of acks) expect(ack.ok).toBe(true);
        runsByUser.set(
          u,
          acks.map((ack) => ack.runId),
        );
      }),
    );
    for (const u of users) {
      for (const { events } of sockets.get(u)!) {
        for (const runId of runsByUser.get(u)!) await waitForTerminal(events, runId, 20_000);
      }
    }
    for (const u of users) {
      const own = new Set(runsByUser.get(u));
      for (const { events } of sockets.get(u)!) {
        const foreign = events.filter((e) => !own.has(e.runId));
        expect(foreign).toEqual([]);
        for (const runId of own) {
          const seqs = ofRun(events, runId).map((e) => e.seq);
          expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
        }
      }
    }
  });

  it('counts the per-user concurrency limit across nodes', async () => {
    const dave = user('dave');
    const onA = await a.connect(dave);
    const onB = await b.connect(dave);
    const long = { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } };
    const first = await command(onA, 'run:start', long);
    const second = await command(onB, 'run:start', long);
    const third = await command(onA, 'run:start', long);
    expect([first.ok, second.ok, third.ok]).toEqual([true, true, true]);
    const fourthOnB = await command(onB, 'run:start', long);
    expect(fourthOnB).toMatchObject({ ok: false, error: { code: 'TOO_MANY_RUNS' } });
    const fourthOnA = await command(onA, 'run:start', long);
    expect(fourthOnA).toMatchObject({ ok: false, error: { code: 'TOO_MANY_RUNS' } });
    for (const run of [first, second, third]) await command(onA, 'run:cancel', { runId: run.runId });
    const afterwards = await command(onB, 'run:start', { agent: 'echo', input: { text: 'slot free' } });
    expect(afterwards.ok).toBe(true);
  });

  it('counts the rate limit across nodes', async () => {
    const erin = user('erin');
    const onA = await a.connect(erin);
    const onB = await b.connect(erin);
    const events = recordEvents(onA);
    recordEvents(onB);
    // 120 per minute in all: 60 on each node are all admitted, the next one on either is refused.
    for (let i = 0; i < 120; i += 2) {
      const [x, y] = await Promise.all([
        command(onA, 'run:start', { agent: 'echo', input: { text: `${i}` } }),
        command(onB, 'run:start', { agent: 'echo', input: { text: `${i + 1}` } }),
      ]);
      expect([x.ok, y.ok]).toEqual([true, true]);
      await waitForTerminal(events, x.runId);
      await waitForTerminal(events, y.runId);
    }
    const refused = await command(onB, 'run:start', { agent: 'echo', input: { text: 'one too many' } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(refused.error.details.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('lets runs on A finish while B shuts down gracefully', async () => {
    const frank = user('frank');
    const c = await startServerProcess(nodes.env);
    const onA = await a.connect(frank);
    const events = recordEvents(onA);
    const started = await command(onA, 'run:start', { agent: 'countdown', input: { steps: 10, intervalMs: 50 } });
    c.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
    const terminal = await waitForTerminal(events, started.runId);
    expect(terminal.type).toBe('agent_completed');
  });

  // `ticker` is not durable (a durable run is taken over instead: durable-cluster.e2e-spec.ts).
  it('marks a run of a node killed with SIGKILL INTERRUPTED from the surviving node within the lease', async () => {
    const grace = user('grace');
    const onA = await a.connect(grace);
    const events = recordEvents(onA);
    const onB = await b.connect(grace);
    const started = await command(onB, 'run:start', { agent: 'ticker', input: { steps: 1000, intervalMs: 300 } });
    await waitFor(() => ofRun(events, started.runId).length >= 2, 'the run to be going');
    // Between two steps, after the write buffer's flush: a hard kill loses what was not yet
    // flushed (up to one flush interval, documented), and this test is about the lease.
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = Date.now();
    b.kill('SIGKILL');
    await b.exited;
    const terminal = await waitForTerminal(events, started.runId, LEASE_MS * 4 + 5000);
    console.log(`lease recovery: INTERRUPTED seen ${Date.now() - killedAt} ms after SIGKILL (lease ${LEASE_MS} ms)`);
    const before = ofRun(events, started.runId).filter((e) => e.type !== 'agent_error');
    expect(terminal).toMatchObject({ type: 'agent_error', data: { code: 'INTERRUPTED' } });
    expect(terminal.seq).toBe(before[before.length - 1].seq + 1);
    const res = await fetch(`${a.url}/runs/${started.runId}`, { headers: { authorization: `Bearer ${a.token(grace)}` } });
    expect(await res.json()).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
  });
});

describe('a node whose Redis is unreachable', () => {
  jest.setTimeout(60_000);
  afterAll(() => stopAllServerProcesses());

  it('starts, reports Redis down in /health and still runs agents for its own sockets', async () => {
    // Port 1 on loopback: nothing listens there, so every connection attempt is refused.
    const node = await startServerProcess({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://127.0.0.1:1' });
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ details: { redis: { status: 'down' }, store: { status: 'up' } } });
    const socket = await node.connect('ivy');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'echo', input: { text: 'still here' } });
    expect(ack.ok).toBe(true);
    expect(await waitForTerminal(events, ack.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'still here' } });
    expect(node.output()).toContain('Redis (main) connection error');
  });
});
