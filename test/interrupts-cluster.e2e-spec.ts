import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/nestjs';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { TEST_AGENTS_MAIN, type ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';
import { APPROVED_APPROVAL_RUN } from './support/demo-runs';

const LEASE_MS = 1500;

async function question(events: AgentEventEnvelope[], runId: string): Promise<InterruptRequestedData> {
  await waitFor(() => ofRun(events, runId).some((e) => e.type === 'interrupt_requested'), `interrupt_requested of ${runId}`);
  return ofRun(events, runId).find((e) => e.type === 'interrupt_requested')!.data as InterruptRequestedData;
}

describeCluster('interrupts across two nodes sharing Redis and PostgreSQL', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const suffix = uniqueSuffix();
  const user = (name: string) => `${name}-${suffix}`;

  beforeAll(async () => {
    nodes = await startTwoNodes('interrupts', { RUN_LEASE_MS: String(LEASE_MS), SHUTDOWN_GRACE_MS: '200' }, { main: TEST_AGENTS_MAIN });
    ({ a, b } = nodes);
  });
  afterAll(async () => nodes?.stop());

  function http(node: ServerProcess, userId: string, method: string, path: string, body?: unknown) {
    return fetch(`${node.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${node.token(userId)}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
  }

  it('answers on node B a run waiting on node A, over sockets and HTTP; refusals travel back from A', async () => {
    const alice = user('alice');
    const onA = await a.connect(alice);
    const eventsOnA = recordEvents(onA);
    const onB = await b.connect(alice);
    const eventsOnB = recordEvents(onB);
    const started = await command(onA, 'run:start', { agent: 'approval', input: { action: 'ship it' } });
    expect(started.ok).toBe(true);
    const asked = await question(eventsOnB, started.runId);

    // B reads the waiting run and its question from the shared store.
    const seenOnB = await http(b, alice, 'GET', `/runs/${started.runId}`);
    expect(seenOnB.body).toMatchObject({ status: 'waiting', interrupt: asked });

    // Refusals decided by A (where the question lives) come back through B.
    const bad = await command(onB, 'run:resume', { runId: started.runId, interruptId: asked.interruptId });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const unknown = await http(b, alice, 'POST', `/runs/${started.runId}/interrupts/not-a-question`, { approved: true });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'INTERRUPT_NOT_FOUND' } });
    const foreign = await command(await b.connect(user('mallory')), 'run:resume', {
      runId: started.runId,
      interruptId: asked.interruptId,
      approved: true,
    });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });

    const ack = await command(onB, 'run:resume', { runId: started.runId, interruptId: asked.interruptId, approved: true });
    expect(ack).toEqual({ ok: true, runId: started.runId, interruptId: asked.interruptId, resolution: 'approved' });
    const terminal = await waitForTerminal(eventsOnA, started.runId);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'performed ship it' } });
    expect(ofRun(eventsOnA, started.runId).map((e) => e.type)).toEqual([...APPROVED_APPROVAL_RUN]);

    const again = await http(b, alice, 'POST', `/runs/${started.runId}/interrupts/${asked.interruptId}`, { approved: false });
    expect(again).toMatchObject({ status: 409, body: { code: 'INTERRUPT_RESOLVED' } });
  });

  it('two answers on two nodes at once: exactly one wins', async () => {
    const bob = user('bob');
    const onA = await a.connect(bob);
    const onB = await b.connect(bob);
    const events = recordEvents(onA);
    const started = await command(onA, 'run:start', { agent: 'approval', input: { action: 'race' } });
    const asked = await question(events, started.runId);
    const acks = await Promise.all([
      command(onA, 'run:resume', { runId: started.runId, interruptId: asked.interruptId, approved: true }),
      command(onB, 'run:resume', { runId: started.runId, interruptId: asked.interruptId, approved: false }),
    ]);
    expect(acks.filter((x) => x.ok)).toHaveLength(1);
    expect(acks.filter((x) => !x.ok)).toEqual([{ ok: false, error: expect.objectContaining({ code: 'INTERRUPT_RESOLVED' }) }]);
    await waitForTerminal(events, started.runId);
    expect(ofRun(events, started.runId).filter((e) => e.type === 'interrupt_resolved')).toHaveLength(1);
  });

  // `plain-approval` is not durable (a durable agent's waiting run survives: durable-cluster.e2e-spec.ts).
  it('a waiting run (not durable) of a node killed with SIGKILL ends INTERRUPTED, seen from the surviving node', async () => {
    const grace = user('grace');
    const onA = await a.connect(grace);
    const events = recordEvents(onA);
    const onB = await b.connect(grace);
    const started = await command(onB, 'run:start', { agent: 'plain-approval', input: { action: 'wait forever' } });
    const asked = await question(events, started.runId);
    b.kill('SIGKILL');
    await b.exited;
    const terminal = await waitForTerminal(events, started.runId, LEASE_MS * 4 + 5000);
    expect(terminal).toMatchObject({ type: 'agent_error', seq: 3, data: { code: 'INTERRUPTED' } });
    const run = await http(a, grace, 'GET', `/runs/${started.runId}`);
    expect(run.body).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    expect(run.body.interrupt).toBeUndefined();
    const late = await http(a, grace, 'POST', `/runs/${started.runId}/interrupts/${asked.interruptId}`, { approved: true });
    expect(late).toMatchObject({ status: 409, body: { code: 'INTERRUPT_RESOLVED' } });
  });
});
