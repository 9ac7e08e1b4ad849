import {
  AgentPipelineClient,
  AgentPipelineError,
  type AgentEventEnvelope,
  type AnyAgentEvent,
  type ConnectionStatusChange,
} from '@agent-pipeline/client';
import { startServerProcess, stopAllServerProcesses, tempDatabase, type ServerProcess } from './support/server-process';
import { command, expectWellFormedRun, recordEvents, startTestApp, waitFor, type TestApp } from './support/test-app';
import { APPROVED_APPROVAL_RUN } from './support/demo-runs';

/** Pulls events from `iterator` until `stop` says so (inclusive) or the run ends; returns them. */
async function pullUntil(iterator: AsyncIterator<AnyAgentEvent>, stop: (e: AnyAgentEvent) => boolean): Promise<AnyAgentEvent[]> {
  const events: AnyAgentEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) return events;
    events.push(next.value);
    if (stop(next.value)) return events;
  }
}

const steps = (events: AnyAgentEvent[]) =>
  events.filter((e): e is AgentEventEnvelope<'agent_thinking'> => e.type === 'agent_thinking').map((e) => e.data.step);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('AgentPipelineClient against the real server', () => {
  describe('basics', () => {
    let t: TestApp;
    let client: AgentPipelineClient;
    beforeAll(async () => {
      t = await startTestApp();
      client = await AgentPipelineClient.connect({ url: t.url, token: t.token('carol'), transports: ['websocket'] });
    });
    afterAll(async () => {
      client?.close();
      await t?.close();
    });

    it('lists agents and runs echo to its terminal event', async () => {
      expect((await client.listAgents()).map((a) => a.name)).toEqual(expect.arrayContaining(['echo', 'countdown']));
      const run = client.run('echo', { text: 'hello' });
      const events: AnyAgentEvent[] = [];
      for await (const e of run) events.push(e);
      const { runId, threadId } = await run.started;
      expect(expectWellFormedRun(events, { runId, threadId, agent: 'echo' })).toEqual([
        'agent_started',
        'agent_thinking',
        'agent_message_delta',
        'agent_completed',
      ]);
      expect(events[3].data).toMatchObject({ result: 'hello' });
    });

    it('lists, reads and deletes threads over HTTP, with the contract codes', async () => {
      const threadId = 'client-thread';
      for (const text of ['first words', 'second words']) {
        for await (const _ of client.run('echo', { text }, { threadId })) void _;
      }
      const page = await client.listThreads({ limit: 1 });
      expect(page.threads).toEqual([
        { threadId, title: 'first words', agent: 'echo', runs: 2, lastRunAt: expect.any(String), lastStatus: 'completed' },
      ]);
      const thread = await client.getThread(threadId);
      expect(thread.runs.map((r) => r.result)).toEqual(['first words', 'second words']);

      const busy = client.run('countdown', { steps: 1000, intervalMs: 20 }, { threadId });
      await busy.started;
      await expect(client.deleteThread(threadId)).rejects.toMatchObject({ name: 'AgentPipelineError', code: 'THREAD_BUSY' });
      await busy.cancel();
      for await (const _ of busy) void _;
      await expect(client.deleteThread(threadId)).resolves.toBeUndefined();
      await expect(client.getThread(threadId)).rejects.toMatchObject({ code: 'THREAD_NOT_FOUND' });
      await expect(client.deleteThread(threadId)).rejects.toBeInstanceOf(AgentPipelineError);
      await expect(client.listThreads({ before: 'nonsense' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(new AgentPipelineClient().listThreads()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    });

    it('lists runs over HTTP, newest first, filtered and paged, with a waiting run among them', async () => {
      const threadId = 'client-runs-thread';
      for await (const _ of client.run('echo', { text: 'listed' }, { threadId })) void _;
      const waiting = client.run('approval', { action: 'list me' }, { threadId, multitask: 'enqueue' });
      const { runId } = await waiting.started;
      let page = await client.listRuns({ threadId });
      for (let i = 0; i < 100 && page.runs[0]?.status !== 'waiting'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        page = await client.listRuns({ threadId });
      }
      expect(page.runs.map((r) => [r.agent, r.status])).toEqual([
        ['approval', 'waiting'],
        ['echo', 'completed'],
      ]);
      expect(page.runs[0]).toMatchObject({ runId, threadId, input: { action: 'list me' } });
      const first = await client.listRuns({ threadId, limit: 1 });
      expect(first.runs.map((r) => r.runId)).toEqual([runId]);
      const second = await client.listRuns({ threadId, limit: 1, before: first.next! });
      expect(second.runs.map((r) => r.agent)).toEqual(['echo']);
      expect((await client.listRuns({ threadId, status: 'completed' })).runs.map((r) => r.agent)).toEqual(['echo']);
      await waiting.cancel();
      for await (const _ of waiting) void _;
    });

    it('surfaces refusals as AgentPipelineError with the contract code', async () => {
      const refused = client.run('no-such-agent', {});
      await expect(refused.started).rejects.toMatchObject({ name: 'AgentPipelineError', code: 'UNKNOWN_AGENT' });
      await expect(refused[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(AgentPipelineError);
      await expect(client.startRun('countdown', { steps: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(client.cancel('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
      await expect(AgentPipelineClient.connect({ url: t.url, token: 'not-a-jwt' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('cancels a run: the iterable ends with agent_cancelled; a second cancel is RUN_FINISHED', async () => {
      const run = client.run('countdown', { steps: 10_000, intervalMs: 20 });
      const iterator = run[Symbol.asyncIterator]();
      await pullUntil(iterator, (e) => e.type === 'agent_thinking');
      await run.cancel();
      const rest = await pullUntil(iterator, () => false);
      expect(rest[rest.length - 1]).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
      await expect(run.cancel()).rejects.toMatchObject({ code: 'RUN_FINISHED' });
    });

    it('yields the interrupt events of a run and keeps following; resume() answers from another client of the user', async () => {
      const run = client.run('approval', { action: 'publish' });
      const iterator = run[Symbol.asyncIterator]();
      const before = await pullUntil(iterator, (e) => e.type === 'interrupt_requested');
      const asked = before[before.length - 1] as AgentEventEnvelope<'interrupt_requested'>;
      expect(asked.data).toMatchObject({ kind: 'approval', message: 'Approve: publish?', tool: 'perform', args: { action: 'publish' } });
      const { runId, threadId } = await run.started;

      // Another tab of the same user follows the waiting run and answers it.
      const otherTab = await AgentPipelineClient.connect({ url: t.url, token: t.token('carol'), transports: ['websocket'] });
      try {
        const followed = otherTab.follow(runId);
        const followedIterator = followed[Symbol.asyncIterator]();
        await pullUntil(followedIterator, (e) => e.type === 'interrupt_requested');
        await expect(followed.resume(asked.data.interruptId, { approved: true })).resolves.toEqual({
          runId,
          interruptId: asked.data.interruptId,
          resolution: 'approved',
        });
        await expect(otherTab.resume(runId, asked.data.interruptId, { approved: false })).rejects.toMatchObject({
          code: 'INTERRUPT_RESOLVED',
        });
        followed.stop();
      } finally {
        otherTab.close();
      }
      const after = await pullUntil(iterator, () => false);
      expect(expectWellFormedRun([...before, ...after], { runId, threadId, agent: 'approval' })).toEqual([...APPROVED_APPROVAL_RUN]);
      await expect(run.resume(asked.data.interruptId, { approved: true })).rejects.toMatchObject({ code: 'INTERRUPT_RESOLVED' });
    });

    it('waits through the thread queue: run() reports queued, then yields the whole run once it starts', async () => {
      const threadId = 'client-queue';
      const first = client.run('countdown', { steps: 3, intervalMs: 100 }, { threadId });
      const second = client.run('echo', { text: 'second' }, { threadId });
      expect((await first.started).status).toBe('running');
      expect(await second.started).toEqual({ runId: expect.any(String), threadId, status: 'queued' });
      const firstEvents: AnyAgentEvent[] = [];
      const secondEvents: AnyAgentEvent[] = [];
      await Promise.all([
        (async () => {
          for await (const e of first) firstEvents.push(e);
        })(),
        (async () => {
          for await (const e of second) secondEvents.push(e);
        })(),
      ]);
      expect(firstEvents.map((e) => e.type).slice(-1)).toEqual(['agent_completed']);
      expect(expectWellFormedRun(secondEvents, { runId: (await second.started).runId, threadId, agent: 'echo' })).toEqual([
        'agent_started',
        'agent_thinking',
        'agent_message_delta',
        'agent_completed',
      ]);
      expect(secondEvents[0].ts >= firstEvents[firstEvents.length - 1].ts).toBe(true);
    });

    it('follows a queued run (replay says queued, no events yet) until it runs; cancels another while queued', async () => {
      const threadId = 'client-follow-queue';
      const busy = await client.startRun('countdown', { steps: 10_000, intervalMs: 20 }, { threadId });
      const waiting = await client.startRun('echo', { text: 'followed' }, { threadId });
      const doomed = client.run('echo', { text: 'never' }, { threadId });
      expect([busy.status, waiting.status, (await doomed.started).status]).toEqual(['running', 'queued', 'queued']);
      await expect(client.replay(waiting.runId)).resolves.toMatchObject({ status: 'queued', lastSeq: 0, events: [] });
      const followed = client.follow(waiting.runId);
      await doomed.cancel();
      const doomedEvents: AnyAgentEvent[] = [];
      for await (const e of doomed) doomedEvents.push(e);
      expect(doomedEvents).toEqual([expect.objectContaining({ seq: 1, type: 'agent_cancelled', data: { reason: 'user' } })]);
      await client.cancel(busy.runId);
      const events: AnyAgentEvent[] = [];
      for await (const e of followed) events.push(e);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(events[3]).toMatchObject({ type: 'agent_completed', data: { result: 'followed' } });
    });

    it('follows a finished run from its stored events, and from afterSeq', async () => {
      const { runId } = await client.startRun('echo', { text: 'again' });
      const all: AnyAgentEvent[] = [];
      for await (const e of client.follow(runId)) all.push(e);
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      const tail: AnyAgentEvent[] = [];
      for await (const e of client.follow(runId, { afterSeq: 2 })) tail.push(e);
      expect(tail).toEqual(all.slice(2));
      await expect(client.replay(runId, 1)).resolves.toMatchObject({ status: 'completed', lastSeq: 4, events: all.slice(1) });
    });
  });

  // Recovery off (the default): only the client's replay from the store brings what was missed.
  // Recovery on (SOCKET_RECOVERY_MS > 0): Socket.IO re-sends it too, and the replay's copies are dropped.
  describe.each([
    ['connection state recovery off, the default', {}, false],
    ['connection state recovery on', { SOCKET_RECOVERY_MS: '120000' }, true],
  ])('after the client transport drops mid-run (%s)', (_name, env: Record<string, string>, recovered: boolean) => {
    let t: TestApp;
    let client: AgentPipelineClient | undefined;
    beforeAll(async () => (t = await startTestApp(env)));
    afterAll(async () => {
      client?.close();
      await t?.close();
    });

    it('yields steps 1..n exactly once, in order, and agent_completed', async () => {
      const n = 150;
      // A fixed 1 s before the reconnect attempt: the run goes on while the client is offline.
      client = await AgentPipelineClient.connect({
        url: t.url,
        token: t.token('bob'),
        transports: ['websocket'],
        reconnectionDelay: 1000,
        reconnectionDelayMax: 1000,
        randomizationFactor: 0,
      });
      const statuses: ConnectionStatusChange[] = [];
      client.onStatus((c) => statuses.push(c));
      const observer = await t.connect('bob');
      const observed = recordEvents(observer);

      const run = client.run('countdown', { steps: n, intervalMs: 10 });
      const iterator = run[Symbol.asyncIterator]();
      const events = await pullUntil(iterator, (e) => e.type === 'agent_thinking' && e.data.step === 10);
      const { runId, threadId } = await run.started;

      client.rawSocket!.io.engine.close();
      expect(client.status).toBe('reconnecting');
      const lastSeen = events[events.length - 1].seq;
      // Deterministic proof that the outage is real: the run emitted events the client was not connected for.
      await waitFor(() => observed.filter((e) => e.runId === runId).length >= lastSeen + 3, 'events sent during the outage');
      expect(client.status).toBe('reconnecting');

      events.push(...(await pullUntil(iterator, () => false)));
      expect(expectWellFormedRun(events, { runId, threadId, agent: 'countdown' })).toEqual([
        'agent_started',
        ...range(n).map(() => 'agent_thinking'),
        'agent_completed',
      ]);
      expect(steps(events)).toEqual(range(n));
      expect(events[events.length - 1].data).toMatchObject({ result: n });
      const reconnected = statuses.find((s) => s.status === 'connected' && s.previous === 'reconnecting');
      expect(reconnected).toMatchObject({ recovered });
      // What the client yielded is exactly what the server stored.
      const stored = await command(observer, 'run:replay', { runId, afterSeq: 0 });
      expect(stored).toMatchObject({ ok: true, status: 'completed', lastSeq: n + 2 });
    });
  });

  describe('after the server is killed and restarted (same port, same SQLite file)', () => {
    const db = tempDatabase();
    let client: AgentPipelineClient | undefined;
    afterAll(async () => {
      client?.close();
      await stopAllServerProcesses();
      db.remove();
    });

    // SIGKILL, not a graceful stop: a graceful stop would finish (or suspend) the run while the
    // client is still connected. `countdown` is durable: the new process resumes it, and the client
    // learns it by replaying after it reconnects, then follows the rest live.
    it('yields the steps it saw exactly once, then agent_resumed in order, the rest of the run and its end', async () => {
      let server: ServerProcess = await startServerProcess({ DATABASE_URL: db.url });
      const port = new URL(server.url).port;
      client = await AgentPipelineClient.connect({
        url: server.url,
        token: server.token('dave'),
        transports: ['websocket'],
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
      });
      const statuses: ConnectionStatusChange[] = [];
      client.onStatus((c) => statuses.push(c));
      const total = 8;
      const run = client.run('countdown', { steps: total, intervalMs: 300 });
      const iterator = run[Symbol.asyncIterator]();
      const events = await pullUntil(iterator, (e) => e.type === 'agent_thinking' && e.data.step === 3);
      const { runId, threadId } = await run.started;

      // A replay flushes the server's event buffer: everything the client saw is stored before the kill.
      const observer = await server.connect('dave');
      const flushed = await command(observer, 'run:replay', { runId, afterSeq: events.length });
      expect(flushed).toMatchObject({ ok: true, status: 'running' });
      server.kill('SIGKILL');
      await server.exited;
      await waitFor(() => client!.status === 'reconnecting', 'the client to notice the server is gone');

      server = await startServerProcess({ DATABASE_URL: db.url, PORT: port });
      events.push(...(await pullUntil(iterator, () => false)));

      const types = expectWellFormedRun(events, { runId, threadId, agent: 'countdown' });
      const resumedAt = types.indexOf('agent_resumed');
      expect(resumedAt).toBeGreaterThanOrEqual(4);
      expect(types).toEqual([
        'agent_started',
        ...types.slice(1, resumedAt).map(() => 'agent_thinking'),
        'agent_resumed',
        ...types.slice(resumedAt + 1, -1).map(() => 'agent_thinking'),
        'agent_completed',
      ]);
      expect(events[resumedAt].data).toEqual({ attempt: 2, afterSeq: resumedAt, reason: 'restart' });
      // Every step once, but the one in flight at the kill, which may come twice.
      const seen = steps(events);
      expect([...new Set(seen)]).toEqual(range(total));
      expect(seen.length - total).toBeLessThanOrEqual(1);
      expect(events[events.length - 1].data).toMatchObject({ result: total });
      expect(statuses.some((s) => s.status === 'connected' && s.previous === 'reconnecting' && s.recovered === false)).toBe(true);

      // Exactly the stored run, field for field: nothing missing, nothing twice.
      const fresh = await AgentPipelineClient.connect({ url: server.url, token: server.token('dave'), transports: ['websocket'] });
      try {
        const stored = await fresh.replay(runId, 0);
        expect(stored.status).toBe('completed');
        expect(stored.events).toEqual(events);
      } finally {
        fresh.close();
      }
    }, 90_000);
  });
});
