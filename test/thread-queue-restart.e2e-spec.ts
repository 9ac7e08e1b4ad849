import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { startServerProcess, stopAllServerProcesses, tempDatabase, TEST_AGENTS_MAIN, type ServerProcess } from './support/server-process';
import { command, ofRun, recordEvents, waitFor } from './support/test-app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = ['agent_completed', 'agent_error', 'agent_cancelled'];

async function get<T = any>(node: ServerProcess, userId: string, path: string): Promise<T> {
  const res = await fetch(`${node.url}${path}`, { headers: { authorization: `Bearer ${node.token(userId)}` } });
  return (await res.json()) as T;
}

/**
 * Queued runs are stored: a node killed with SIGKILL loses none of them (single node, SQLite file).
 * The long runs ahead of them are `ticker`s, which are not durable: they end with their node.
 */
describe('queued runs across a SIGKILL and a restart (real processes)', () => {
  const db = tempDatabase();
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  it('starts the queued runs after the restart, thread order kept, one at a time under MAX_CONCURRENT_RUNS_PER_USER=1', async () => {
    const first = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    const socket = await first.connect('alice');
    const live = recordEvents(socket);
    const long = { agent: 'ticker', input: { steps: 10_000, intervalMs: 200 } };
    const quick = (steps: number) => ({ agent: 'countdown', input: { steps, intervalMs: 20 } });
    const a1 = await command(socket, 'run:start', { ...long, threadId: 'a' });
    const a2 = await command(socket, 'run:start', { ...quick(3), threadId: 'a' });
    const a3 = await command(socket, 'run:start', { ...quick(4), threadId: 'a' });
    const b1 = await command(socket, 'run:start', { ...long, threadId: 'b' });
    const b2 = await command(socket, 'run:start', { ...quick(5), threadId: 'b' });
    expect([a1, a2, a3, b1, b2].map((a) => a.status)).toEqual(['running', 'queued', 'queued', 'running', 'queued']);
    await waitFor(() => ofRun(live, a1.runId).length >= 2 && ofRun(live, b1.runId).length >= 2, 'both long runs to be going');
    await sleep(100);
    first.kill('SIGKILL');
    await first.exited;
    for (const queued of [a2, a3, b2]) expect(ofRun(live, queued.runId)).toEqual([]);

    const second = await startServerProcess({ DATABASE_URL: db.url, MAX_CONCURRENT_RUNS_PER_USER: '1' }, { main: TEST_AGENTS_MAIN });
    const runs = async () => Promise.all([a1, a2, a3, b1, b2].map((a) => get(second, 'alice', `/runs/${a.runId}`)));
    const deadline = Date.now() + 20_000;
    let now = await runs();
    while (now.some((r) => r.status === 'queued' || r.status === 'running') && Date.now() < deadline) {
      await sleep(100);
      now = await runs();
    }
    expect(now.map((r) => r.status)).toEqual(['failed', 'completed', 'completed', 'failed', 'completed']);
    expect(now[0].error.code).toBe('INTERRUPTED');
    expect(now[2].result).toBe(4);

    const eventsOf = async (runId: string) =>
      (await get<{ events: AgentEventEnvelope[] }>(second, 'alice', `/runs/${runId}/events`)).events;
    const spans: Record<string, { start: string; end: string }> = {};
    for (const run of [a2, a3, b2]) {
      const events = await eventsOf(run.runId);
      // Started from scratch on the new process: agent_started at seq 1, seq without gaps.
      expect(events[0]).toMatchObject({ seq: 1, type: 'agent_started' });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(TERMINAL).toContain(events[events.length - 1].type);
      spans[run.runId] = { start: events[0].ts, end: events[events.length - 1].ts };
    }
    // Thread order: a3 after a2. The limit of 1: no two of them overlap.
    expect(spans[a3.runId].start >= spans[a2.runId].end).toBe(true);
    const sorted = Object.values(spans).sort((x, y) => x.start.localeCompare(y.start));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].start >= sorted[i - 1].end).toBe(true);
  }, 90_000);

  it('a graceful shutdown cancels the running run (shutdown) and leaves the queued one queued, untouched, for the next start', async () => {
    const node = await startServerProcess({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: '100' }, { main: TEST_AGENTS_MAIN });
    const socket = await node.connect('bob');
    const live = recordEvents(socket);
    const running = await command(socket, 'run:start', { agent: 'ticker', input: { steps: 10_000, intervalMs: 50 }, threadId: 'g' });
    const queued = await command(socket, 'run:start', { agent: 'echo', input: { text: 'after the restart' }, threadId: 'g' });
    expect([running.status, queued.status]).toEqual(['running', 'queued']);
    await waitFor(() => ofRun(live, running.runId).length >= 2, 'the run to be going');
    node.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
    expect(ofRun(live, running.runId).slice(-1)[0]).toMatchObject({ type: 'agent_cancelled', data: { reason: 'shutdown' } });
    expect(ofRun(live, queued.runId)).toEqual([]);

    const next = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    const deadline = Date.now() + 10_000;
    let run = await get(next, 'bob', `/runs/${queued.runId}`);
    while (run.status !== 'completed' && Date.now() < deadline) {
      await sleep(50);
      run = await get(next, 'bob', `/runs/${queued.runId}`);
    }
    expect(run).toMatchObject({ status: 'completed', result: 'after the restart', lastSeq: 4 });
  }, 60_000);
});
