import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { startServerProcess, stopAllServerProcesses, tempDatabase, TEST_AGENTS_MAIN } from './support/server-process';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';

/** The server as its own process (`node dist/main.js`), stopped with a real SIGTERM. */
describe('graceful shutdown (SIGTERM, real process)', () => {
  const databases: Array<{ remove(): void }> = [];
  afterAll(async () => {
    await stopAllServerProcesses();
    for (const db of databases) db.remove();
  }, 60_000);

  it('lets a run that fits in SHUTDOWN_GRACE_MS finish, then exits 0', async () => {
    const db = tempDatabase();
    databases.push(db);
    const server = await startServerProcess({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: '3000' });
    const socket = await server.connect('alice');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 5, intervalMs: 100 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(events, ack.runId).length >= 2, 'the run to be under way');

    const signalledAt = Date.now();
    server.kill('SIGTERM');
    const terminal = await waitForTerminal(events, ack.runId);
    const exit = await server.exited;
    console.log(`shutdown with grace: run completed, process exited ${exit.code} after ${Date.now() - signalledAt} ms`);

    expect(terminal.type).toBe('agent_completed');
    expect(terminal.data).toEqual(expect.objectContaining({ result: 5 }));
    const run = ofRun(events, ack.runId);
    expect(run.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('SIGTERM received');

    // Stored in full: a new process on the same file replays the completed run.
    const next = await startServerProcess({ DATABASE_URL: db.url });
    const s2 = await next.connect('alice');
    const replayed = recordEvents(s2);
    const replay = await command(s2, 'run:replay', { runId: ack.runId, afterSeq: 0 });
    expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'completed', lastSeq: 7 });
    expect(replayed).toEqual(run);
    next.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  // `ticker` is not durable; a durable run is suspended instead (below).
  it('cancels a run that outlives SHUTDOWN_GRACE_MS with reason shutdown, exits 0, and the store keeps every event', async () => {
    const db = tempDatabase();
    databases.push(db);
    const server = await startServerProcess({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: '300' }, { main: TEST_AGENTS_MAIN });
    const socket = await server.connect('alice');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'ticker', input: { steps: 10_000, intervalMs: 20 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(events, ack.runId).length >= 5, 'the run to be under way');

    const signalledAt = Date.now();
    server.kill('SIGTERM');
    const terminal = await waitForTerminal(events, ack.runId);
    const cancelledAfter = Date.now() - signalledAt;
    const exit = await server.exited;
    console.log(`shutdown past grace: agent_cancelled ${cancelledAfter} ms after SIGTERM (grace 300 ms), exit ${exit.code}`);

    expect(terminal.type).toBe('agent_cancelled');
    expect(terminal.data).toEqual({ reason: 'shutdown' });
    const run = ofRun(events, ack.runId);
    expect(run[run.length - 1]).toBe(terminal);
    expect(run.map((e) => e.seq)).toEqual(run.map((_, i) => i + 1));
    expect(exit).toEqual({ code: 0, signal: null });

    // Restarted on the same SQLite file: the run is cancelled (not INTERRUPTED) and every event is there.
    const next = await startServerProcess({ DATABASE_URL: db.url }, { main: TEST_AGENTS_MAIN });
    const s2 = await next.connect('alice');
    const replayed: AgentEventEnvelope[] = recordEvents(s2);
    const replay = await command(s2, 'run:replay', { runId: ack.runId, afterSeq: 0 });
    expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'cancelled', lastSeq: terminal.seq });
    expect(replayed).toEqual(run);
    expect(next.output()).not.toContain('INTERRUPTED');
  }, 60_000);

  it('suspends a durable run that outlives SHUTDOWN_GRACE_MS (no terminal event); the next start resumes it to its end', async () => {
    const db = tempDatabase();
    databases.push(db);
    const server = await startServerProcess({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: '300' });
    const socket = await server.connect('alice');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 30, intervalMs: 100 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(events, ack.runId).length >= 3, 'the run to be under way');
    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const before = ofRun(events, ack.runId);
    expect(before.every((e) => e.type === 'agent_started' || e.type === 'agent_thinking')).toBe(true);
    expect(server.output()).toContain('1 durable runs suspended');

    const next = await startServerProcess({ DATABASE_URL: db.url });
    const s2 = await next.connect('alice');
    const after = recordEvents(s2);
    await command(s2, 'run:replay', { runId: ack.runId, afterSeq: before[before.length - 1].seq });
    const terminal = await waitForTerminal(after, ack.runId, 15_000);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 30 } });
    const res = await fetch(`${next.url}/runs/${ack.runId}/events`, { headers: { authorization: `Bearer ${next.token('alice')}` } });
    const stored = ((await res.json()) as { events: AgentEventEnvelope[] }).events;
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    for (const e of before) expect(stored[e.seq - 1]).toEqual(e);
    expect(stored.find((e) => e.type === 'agent_resumed')?.data).toMatchObject({ attempt: 2, reason: 'restart' });
    expect(stored.filter((e) => e.type === 'agent_cancelled')).toEqual([]);
  }, 60_000);

  it('refuses new runs while shutting down', async () => {
    const db = tempDatabase();
    databases.push(db);
    const server = await startServerProcess({ DATABASE_URL: db.url, SHUTDOWN_GRACE_MS: '2000' });
    const socket = await server.connect('alice');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 10, intervalMs: 100 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => ofRun(events, ack.runId).length >= 2, 'the run to be under way');

    server.kill('SIGTERM');
    await waitFor(() => server.output().includes('SIGTERM received'), 'the server to take the signal');
    const refused = await command(socket, 'run:start', { agent: 'echo', input: { text: 'too late' } });
    expect(refused.ok).toBe(false);
    expect(refused.error.code).toBe('UNAVAILABLE');
    console.log(`run:start during shutdown: ${JSON.stringify(refused.error)}`);

    expect((await waitForTerminal(events, ack.runId)).type).toBe('agent_completed');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 60_000);
});
