import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/nestjs';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { metricValue } from './support/metrics';
import { startServerProcess, type ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';
import { RESUMED_APPROVAL_RUN } from './support/demo-runs';

const LEASE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storedEvents(server: ServerProcess, userId: string, runId: string): Promise<AgentEventEnvelope[]> {
  const res = await fetch(`${server.url}/runs/${runId}/events`, { headers: { authorization: `Bearer ${server.token(userId)}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: AgentEventEnvelope[] }).events;
}

async function killHard(server: ServerProcess): Promise<void> {
  server.kill('SIGKILL');
  expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
}

describeCluster('durable runs across nodes sharing PostgreSQL and Redis (SIGKILL of a node)', () => {
  jest.setTimeout(90_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  const suffix = uniqueSuffix();
  const user = (name: string) => `${name}-${suffix}`;

  beforeAll(async () => {
    nodes = await startTwoNodes('durable', { RUN_LEASE_MS: String(LEASE_MS), SHUTDOWN_GRACE_MS: '200' });
    a = nodes.a;
  });
  afterAll(async () => nodes?.stop());

  it('an approval waiting on a node that was killed is answered on the survivor, which resumes and completes it', async () => {
    const alice = user('alice');
    const onB = await nodes.b.connect(alice);
    const seenOnB = recordEvents(onB);
    const started = await command(onB, 'run:start', { agent: 'approval', input: { action: 'rotate keys' } });
    expect(started.ok).toBe(true);
    await waitFor(() => ofRun(seenOnB, started.runId).some((e) => e.type === 'interrupt_requested'), 'the question');
    const asked = ofRun(seenOnB, started.runId).find((e) => e.type === 'interrupt_requested')!.data as InterruptRequestedData;
    await killHard(nodes.b);

    // Right away, before the lease ran out: no live node holds it, so the answer resumes it on A.
    const onA = await a.connect(alice);
    const seenOnA = recordEvents(onA);
    const answer = await command(onA, 'run:resume', { runId: started.runId, interruptId: asked.interruptId, approved: true });
    expect(answer).toEqual({ ok: true, runId: started.runId, interruptId: asked.interruptId, resolution: 'approved' });
    const terminal = await waitForTerminal(seenOnA, started.runId);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'performed rotate keys' } });

    const stored = await storedEvents(a, alice, started.runId);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(stored.map((e) => e.type)).toEqual([...RESUMED_APPROVAL_RUN]);
    expect(stored[3].data).toEqual({ attempt: 2, afterSeq: 3, reason: 'node_lost' });
    for (const e of ofRun(seenOnB, started.runId)) expect(stored[e.seq - 1]).toEqual(e);
    expect(ofRun(seenOnA, started.runId)).toEqual(stored.slice(3));
  });

  it('a countdown of a killed node is taken over by the survivor once the lease ran out, and completes', async () => {
    const bob = user('bob');
    const c = await startServerProcess(nodes.env);
    const onC = await c.connect(bob);
    const onA = await a.connect(bob);
    const seenOnC = recordEvents(onC);
    const seenOnA = recordEvents(onA);
    const resumedBefore = await metricValue(a.url, 'agent_pipeline_runs_resumed_total', { agent: 'countdown', reason: 'node_lost' });
    const started = await command(onC, 'run:start', { agent: 'countdown', input: { steps: 20, intervalMs: 100 } });
    expect(started.ok).toBe(true);
    await waitFor(() => ofRun(seenOnC, started.runId).length >= 5, 'four ticks');
    await killHard(c);
    const killedAt = Date.now();

    const terminal = await waitForTerminal(seenOnA, started.runId, 20_000);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 20 } });
    const resumed = ofRun(seenOnA, started.runId).find((e) => e.type === 'agent_resumed')!;
    console.log(`durable takeover: agent_resumed ${Date.parse(resumed.ts) - killedAt} ms after SIGKILL (lease ${LEASE_MS} ms)`);
    expect(resumed.data).toMatchObject({ attempt: 2, reason: 'node_lost' });

    const stored = await storedEvents(a, bob, started.runId);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    // Every seq seen on either node is the stored event.
    for (const e of [...ofRun(seenOnC, started.runId), ...ofRun(seenOnA, started.runId)]) expect(stored[e.seq - 1]).toEqual(e);
    const ticks = stored.filter((e) => e.type === 'agent_thinking').map((e) => (e.data as { thought: string }).thought);
    for (let n = 1; n <= 20; n++) expect(ticks).toContain(`Step ${n} of 20`);
    expect(ticks.length).toBeLessThanOrEqual(21);
    expect(await metricValue(a.url, 'agent_pipeline_runs_resumed_total', { agent: 'countdown', reason: 'node_lost' })).toBe(
      resumedBefore + 1,
    );
  });

  it('a cancel of a durable run whose node is dead ends it in the store at once, and it is not resumed', async () => {
    const carol = user('carol');
    const d = await startServerProcess(nodes.env);
    const onD = await d.connect(carol);
    const seenOnD = recordEvents(onD);
    const started = await command(onD, 'run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 200 } });
    expect(started.ok).toBe(true);
    await waitFor(() => ofRun(seenOnD, started.runId).length >= 3, 'two ticks');
    await killHard(d);

    const onA = await a.connect(carol);
    const seenOnA = recordEvents(onA);
    const cancelled = await command(onA, 'run:cancel', { runId: started.runId });
    expect(cancelled).toEqual({ ok: true, runId: started.runId });
    const terminal = await waitForTerminal(seenOnA, started.runId);
    expect(terminal).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
    // Well past the lease: nobody took it over.
    await sleep(LEASE_MS * 2);
    const stored = await storedEvents(a, carol, started.runId);
    expect(stored[stored.length - 1]).toEqual(terminal);
    expect(stored.some((e) => e.type === 'agent_resumed')).toBe(false);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
  });
});
