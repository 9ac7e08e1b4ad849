import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { startServerProcess, stopAllServerProcesses, tempDatabase, TEST_AGENTS_MAIN } from './support/server-process';
import { command, ofRun, recordEvents, waitFor } from './support/test-app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Crash recovery of an agent that is not durable (`ticker`; the durable ones are resumed, see
 * durable-restart.e2e-spec.ts): a process killed mid-run, a new one on the same SQLite file.
 */
describe('restart after SIGKILL (real processes)', () => {
  const db = tempDatabase();
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  it("serves the killed run's stored events and ends it with agent_error INTERRUPTED (seq = last + 1), status failed", async () => {
    const first = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    const socket = await first.connect('alice');
    const live = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'ticker', input: { steps: 10_000, intervalMs: 400 } });
    expect(ack.ok).toBe(true);
    // Several steps out; then, between two steps, long after the store's batch interval, the kill.
    await waitFor(() => ofRun(live, ack.runId).length >= 4, 'four events');
    const seen = ofRun(live, ack.runId).length;
    await waitFor(() => ofRun(live, ack.runId).length > seen, 'the next step');
    await sleep(150);
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const liveRun = ofRun(live, ack.runId);
    const lastLive = liveRun[liveRun.length - 1].seq;

    const second = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    expect(second.output()).toContain(ack.runId);
    const s2 = await second.connect('alice');
    const replayed: AgentEventEnvelope[] = recordEvents(s2);
    const replay = await command(s2, 'run:replay', { runId: ack.runId, afterSeq: 0 });

    const stored = replayed.slice(0, -1);
    const terminal = replayed[replayed.length - 1];
    console.log(
      `restart: client saw seq 1..${lastLive} live; the new process replays ${stored.length} stored events + ${terminal.type} ${JSON.stringify(terminal.data)} at seq ${terminal.seq}`,
    );

    // The stored events are what the client saw, from agent_started on, in order.
    expect(stored[0].type).toBe('agent_started');
    expect(stored.filter((e) => e.type === 'agent_thinking').length).toBeGreaterThanOrEqual(3);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(stored).toEqual(liveRun.slice(0, stored.length));
    // Everything emitted 150 ms before the kill had been flushed (the batch interval is 25 ms).
    expect(stored.length).toBe(lastLive);

    expect(terminal).toEqual({
      runId: ack.runId,
      threadId: ack.threadId,
      seq: stored.length + 1,
      type: 'agent_error',
      agent: 'ticker',
      ts: expect.any(String),
      data: { code: 'INTERRUPTED', message: expect.any(String) },
    });
    expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'failed', lastSeq: stored.length + 1 });

    // The run is over for good: cancel says so, and another user still cannot see it.
    expect(await command(s2, 'run:cancel', { runId: ack.runId })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'RUN_FINISHED' }),
    });
    const mallory = await second.connect('mallory');
    expect(await command(mallory, 'run:replay', { runId: ack.runId })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'RUN_NOT_FOUND' }),
    });

    // A third start does not interrupt it again (one terminal event, once).
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const third = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    const s3 = await third.connect('alice');
    const again = recordEvents(s3);
    const replay3 = await command(s3, 'run:replay', { runId: ack.runId, afterSeq: 0 });
    expect(replay3).toEqual(replay);
    expect(again).toEqual(replayed);
  }, 90_000);
});
