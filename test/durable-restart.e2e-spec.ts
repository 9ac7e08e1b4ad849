import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/nestjs';
import type { Socket } from 'socket.io-client';
import { startServerProcess, stopAllServerProcesses, tempDatabase, type ServerProcess } from './support/server-process';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';

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
    expect(stored.map((e) => e.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'interrupt_requested',
      'agent_resumed',
      'interrupt_resolved',
      'tool_executing',
      'tool_completed',
      'agent_completed',
    ]);
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
