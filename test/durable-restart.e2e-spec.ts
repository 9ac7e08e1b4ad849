import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/nestjs';
import type { Socket } from 'socket.io-client';
import { startServerProcess, stopAllServerProcesses, tempDatabase, TEST_AGENTS_MAIN, type ServerProcess } from './support/server-process';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';
import { RESUMED_APPROVAL_RUN } from './support/demo-runs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killHard(server: ServerProcess): Promise<void> {
  server.kill('SIGKILL');
  expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
}

async function storedEvents(server: ServerProcess, userId: string, runId: string): Promise<AgentEventEnvelope[]> {
  const res = await fetch(`${server.url}/runs/${runId}/events`, { headers: { authorization: `Bearer ${server.token(userId)}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: AgentEventEnvelope[] }).events;
}

async function getRun(server: ServerProcess, userId: string, runId: string): Promise<any> {
  const res = await fetch(`${server.url}/runs/${runId}`, { headers: { authorization: `Bearer ${server.token(userId)}` } });
  return res.json();
}

/** Follows a run on a socket as a client does: replays what it missed after `afterSeq`, then takes the live events. */
async function follow(socket: Socket, runId: string, afterSeq: number): Promise<AgentEventEnvelope[]> {
  const events = recordEvents(socket);
  const ack = await command(socket, 'run:replay', { runId, afterSeq });
  expect(ack.ok).toBe(true);
  return events;
}

/** Every seq from 1 to the last, once: what a client keeps after dropping copies of `(runId, seq)`. */
function bySeq(events: AgentEventEnvelope[]): Map<number, AgentEventEnvelope> {
  const seen = new Map<number, AgentEventEnvelope>();
  for (const e of events) {
    const first = seen.get(e.seq);
    // The same seq twice (a replay overlapping live events) must be the same event.
    if (first) expect(e).toEqual(first);
    else seen.set(e.seq, e);
  }
  return seen;
}

/** Durable demo agents across a SIGKILL of their only node and its restart on the same SQLite file. */
describe('durable runs across SIGKILL and a restart (real processes, SQLite file)', () => {
  const db = tempDatabase();
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  it('an approval run killed while waiting keeps waiting, and its answer after the restart completes it', async () => {
    const first = await startServerProcess({ DATABASE_URL: db.url });
    const socket = await first.connect('alice');
    const live = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'approval', input: { action: 'deploy v2' } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(live, ack.runId).some((e) => e.type === 'interrupt_requested'), 'the question');
    const asked = ofRun(live, ack.runId).find((e) => e.type === 'interrupt_requested')!.data as InterruptRequestedData;
    await killHard(first);

    const second = await startServerProcess({ DATABASE_URL: db.url });
    // Still waiting, with the same question.
    expect(await getRun(second, 'alice', ack.runId)).toMatchObject({ status: 'waiting', interrupt: asked });
    const s2 = await second.connect('alice');
    const after = recordEvents(s2);
    const answer = await command(s2, 'run:resume', { runId: ack.runId, interruptId: asked.interruptId, approved: true });
    expect(answer).toEqual({ ok: true, runId: ack.runId, interruptId: asked.interruptId, resolution: 'approved' });
    const terminal = await waitForTerminal(after, ack.runId);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'performed deploy v2' } });

    const stored = await storedEvents(second, 'alice', ack.runId);
    console.log(`durable approval: ${stored.map((e) => `${e.seq}:${e.type}`).join(' ')}`);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(stored.map((e) => e.type)).toEqual([...RESUMED_APPROVAL_RUN]);
    expect(stored[3].data).toEqual({ attempt: 2, afterSeq: 3, reason: 'restart' });
    expect(stored[4].data).toMatchObject({ interruptId: asked.interruptId, resolution: 'approved' });
    // The call that was approved is the call that ran.
    expect(stored[5].data).toMatchObject({ toolCallId: asked.toolCallId, tool: 'perform' });
    // What the first node's socket saw is what the store holds.
    for (const e of ofRun(live, ack.runId)) expect(stored[e.seq - 1]).toEqual(e);
    expect(ofRun(after, ack.runId)).toEqual(stored.slice(3));
    expect(second.output()).toContain(`Durable run ${ack.runId} (approval) resumed: attempt 2, after seq 3 (restart)`);
    await second.stop();
  }, 60_000);

  it('a countdown killed mid-way goes on from its tick; a client that followed it saw the stored event at every seq', async () => {
    const steps = 14;
    const first = await startServerProcess({ DATABASE_URL: db.url });
    const socket = await first.connect('bob');
    const live1 = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps, intervalMs: 120 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(live1, ack.runId).length >= 6, 'five ticks');
    await sleep(60); // mid-tick
    await killHard(first);
    const seenBeforeKill = ofRun(live1, ack.runId);
    const lastSeen = seenBeforeKill[seenBeforeKill.length - 1].seq;

    const second = await startServerProcess({ DATABASE_URL: db.url });
    // The client reconnects and catches up from what it had, then follows live.
    const live2 = await follow(await second.connect('bob'), ack.runId, lastSeen);
    const terminal = await waitForTerminal(live2, ack.runId, 20_000);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: steps } });

    const stored = await storedEvents(second, 'bob', ack.runId);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    const resumed = stored.filter((e) => e.type === 'agent_resumed');
    expect(resumed).toHaveLength(1);
    expect(resumed[0].data).toEqual({ attempt: 2, afterSeq: resumed[0].seq - 1, reason: 'restart' });
    // Nothing the client saw is taken back: for every seq it saw, the store holds exactly that event.
    const seen = bySeq([...seenBeforeKill, ...ofRun(live2, ack.runId)]);
    expect([...seen.keys()].sort((x, y) => x - y)).toEqual(stored.map((e) => e.seq));
    for (const e of stored) expect(seen.get(e.seq)).toEqual(e);
    // Every tick at least once; only the one in flight at the kill twice.
    const ticks = stored.filter((e) => e.type === 'agent_thinking').map((e) => (e.data as { thought: string }).thought);
    const counts = new Map<string, number>();
    for (const t of ticks) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (let n = 1; n <= steps; n++) expect(counts.get(`Step ${n} of ${steps}`)).toBeGreaterThanOrEqual(1);
    const twice = [...counts].filter(([, c]) => c > 1);
    expect(twice.length).toBeLessThanOrEqual(1);
    expect(twice.every(([, c]) => c === 2)).toBe(true);
    // The resumed attempt went on from the tick it had reached, not from the start.
    expect(ticks.length).toBeLessThanOrEqual(steps + 1);
    console.log(
      `durable countdown: killed after seq ${lastSeen}; resumed at seq ${resumed[0].seq}; ${stored.length} events; repeated: ${JSON.stringify(twice)}`,
    );
    await second.stop();
  }, 60_000);
});

/** The bounds of durable runs, with the test agents (test/support/fixtures/test-agents.server.js). */
describe('durable runs: retries, the determinism check, RUN_MAX_ATTEMPTS (real processes, SQLite file)', () => {
  const db = tempDatabase();
  const start = (env: Record<string, string> = {}) => startServerProcess({ DATABASE_URL: db.url, ...env }, { main: TEST_AGENTS_MAIN });
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  /** Starts `agent` and resolves once `ready` holds of its live events. */
  async function startRun(
    server: ServerProcess,
    userId: string,
    agent: string,
    input: unknown,
    ready: (events: AgentEventEnvelope[]) => boolean,
  ) {
    const socket = await server.connect(userId);
    const live = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent, input });
    expect(ack.ok).toBe(true);
    await waitFor(() => ready(ofRun(live, ack.runId)), `${agent} to get going`);
    return { runId: ack.runId as string, live };
  }

  it('a step with retries runs until it succeeds, once per run: after a restart it is replayed, not run again', async () => {
    const first = await start();
    const { runId } = await startRun(first, 'carol', 'flaky', { waitMs: 60_000 }, (events) =>
      events.some((e) => e.type === 'agent_thinking' && (e.data as { thought: string }).thought === 'try 3'),
    );
    await sleep(100); // the step's record is stored with the next flush
    await killHard(first);

    // Resumed at start-up, now inside its 60 s wait: cancel it, then look at what was stored.
    const second = await start();
    const s2 = await second.connect('carol');
    const cancelled = await command(s2, 'run:cancel', { runId });
    expect(cancelled).toEqual({ ok: true, runId });
    const stored = await storedEvents(second, 'carol', runId);
    const thoughts = stored.filter((e) => e.type === 'agent_thinking').map((e) => (e.data as { thought: string }).thought);
    // Three tries on the first node; the second replayed the recorded result instead of trying again.
    expect(thoughts).toEqual(['try 1', 'try 2', 'try 3']);
    expect(stored.map((e) => e.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_thinking',
      'agent_thinking',
      'agent_resumed',
      'agent_cancelled',
    ]);
    await second.stop();
  }, 60_000);

  it('a resumed run that emits another event than the stored one ends AGENT_FAILED, naming the step and both types', async () => {
    const first = await start();
    const { runId } = await startRun(first, 'dave', 'drifting', { waitMs: 60_000 }, (events) =>
      events.some((e) => e.type === 'agent_thinking'),
    );
    await sleep(100);
    await killHard(first);

    const second = await start({ DRIFT: '1' });
    const s2 = await second.connect('dave');
    const events = await follow(s2, runId, 0);
    const terminal = await waitForTerminal(events, runId);
    expect(terminal.type).toBe('agent_error');
    expect(terminal.data).toEqual({
      code: 'AGENT_FAILED',
      message: expect.stringMatching(/after step 'plan'.*agent_message_delta at seq 2.*stored run has agent_thinking/),
    });
    const stored = await storedEvents(second, 'dave', runId);
    // The diverging event was never stored nor sent; the run went on past its journal only to end.
    expect(stored.map((e) => e.type)).toEqual(['agent_started', 'agent_thinking', 'agent_resumed', 'agent_error']);
    await second.stop();
  }, 60_000);

  it('a run that lost its node RUN_MAX_ATTEMPTS times ends with agent_error INTERRUPTED instead of a further resume', async () => {
    const env = { RUN_MAX_ATTEMPTS: '2' };
    let server = await start(env);
    const { runId } = await startRun(server, 'erin', 'countdown', { steps: 1000, intervalMs: 100 }, (events) => events.length >= 3);
    await killHard(server);
    // Attempt 2 (the last allowed) gets going, then loses its node too.
    server = await start(env);
    const s2 = await server.connect('erin');
    const events = await follow(s2, runId, 0);
    await waitFor(() => ofRun(events, runId).some((e) => e.type === 'agent_resumed'), 'the resume');
    await waitFor(() => ofRun(events, runId).filter((e) => e.type === 'agent_thinking').length >= 4, 'more ticks');
    await killHard(server);

    server = await start(env);
    const stored = await storedEvents(server, 'erin', runId);
    const terminal = stored[stored.length - 1];
    expect(terminal).toMatchObject({
      type: 'agent_error',
      data: { code: 'INTERRUPTED', message: expect.stringContaining('RUN_MAX_ATTEMPTS = 2') },
    });
    expect(stored.filter((e) => e.type === 'agent_resumed').map((e) => e.data)).toEqual([expect.objectContaining({ attempt: 2 })]);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(await getRun(server, 'erin', runId)).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED' } });
    await server.stop();
  }, 90_000);
});
