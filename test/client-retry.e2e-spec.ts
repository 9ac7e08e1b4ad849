import { AgentPipelineClient, type AnyAgentEvent } from '@agent-pipeline/client';
import { HttpClient } from './support/http-client';
import { interceptStarts, type StartInterceptor } from './support/start-interceptor';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { expectWellFormedRun, startTestApp, waitFor, type TestApp } from './support/test-app';

/**
 * The typed client's starts through a connection that breaks: a TCP proxy between the client and
 * the real server is cut at the worst moment, after the server took the start and before its ack
 * came back.
 */
describe('AgentPipelineClient: a start cut off before its answer', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let http: HttpClient;
  let interceptor: StartInterceptor;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '0' });
    proxy = await startTcpProxy('127.0.0.1', Number(new URL(t.url).port));
    http = new HttpClient(t.url, t.token('erin'));
    interceptor = interceptStarts(t.app, proxy);
  });
  afterAll(async () => {
    await proxy?.close();
    await t?.close();
  });

  async function connect(): Promise<AgentPipelineClient> {
    return AgentPipelineClient.connect({
      url: `http://127.0.0.1:${proxy.port}`,
      token: t.token('erin'),
      transports: ['websocket'],
      reconnectionDelay: 50,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
  }

  it('client.run() completes with the one run: the start is sent again with its key, every event comes once', async () => {
    const client = await connect();
    try {
      interceptor.starts.length = 0;
      interceptor.cutNextStart(300);
      const statuses: string[] = [];
      client.onStatus((change) => statuses.push(change.status));
      const run = client.run('countdown', { steps: 8, intervalMs: 60 });
      const events: AnyAgentEvent[] = [];
      for await (const event of run) events.push(event);
      const info = await run.started;

      // The connection really broke, and the start really went twice, with one key.
      expect(statuses).toEqual(expect.arrayContaining(['reconnecting', 'connected']));
      expect(interceptor.starts).toHaveLength(2);
      expect(interceptor.starts[0].idempotencyKey).toEqual(expect.any(String));
      expect(interceptor.starts[1]).toEqual(interceptor.starts[0]);
      expect(info.replayed).toBe(true);

      expect(expectWellFormedRun(events, { runId: info.runId, threadId: info.threadId, agent: 'countdown' })).toEqual([
        'agent_started',
        ...Array(8).fill('agent_thinking'),
        'agent_completed',
      ]);
      const runs = (await http.get('/runs?limit=100')).body.runs as { runId: string; agent: string }[];
      expect(runs.filter((r) => r.agent === 'countdown')).toEqual([expect.objectContaining({ runId: info.runId })]);
    } finally {
      client.close();
    }
  });

  it('startRun() resolves once when the drop outlasts several reconnect attempts; the run starts once', async () => {
    const client = await connect();
    try {
      interceptor.starts.length = 0;
      interceptor.cutNextStart(900);
      const info = await client.startRun('echo', { text: 'typed during the drop' });
      expect(interceptor.starts.length).toBeGreaterThanOrEqual(2);
      expect(new Set(interceptor.starts.map((s) => s.idempotencyKey)).size).toBe(1);
      const runs = (await http.get('/runs?limit=100')).body.runs as { runId: string; input: { text?: string } }[];
      expect(runs.filter((r) => r.input?.text === 'typed during the drop').map((r) => r.runId)).toEqual([info.runId]);
    } finally {
      client.close();
    }
  });

  it('a start made while the connection is down goes out once it is back', async () => {
    const client = await connect();
    try {
      interceptor.starts.length = 0;
      await proxy.cut();
      await waitFor(() => client.status === 'reconnecting', 'the client to notice the drop');
      const run = client.run('echo', { text: 'sent while offline' });
      await new Promise((r) => setTimeout(r, 200));
      expect(interceptor.starts).toHaveLength(0);
      await proxy.restore();
      const events: AnyAgentEvent[] = [];
      for await (const event of run) events.push(event);
      const info = await run.started;
      expect(interceptor.starts).toHaveLength(1);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(events.every((e) => e.runId === info.runId)).toBe(true);
    } finally {
      client.close();
    }
  });

  it("the caller's own idempotencyKey: a second run() with it follows the first run from its first event", async () => {
    const client = await connect();
    try {
      const options = { idempotencyKey: `order-${Date.now()}` };
      const first = client.run('echo', { text: 'pay once' }, options);
      const firstEvents: AnyAgentEvent[] = [];
      for await (const event of first) firstEvents.push(event);
      const again = client.run('echo', { text: 'pay once' }, options);
      const againEvents: AnyAgentEvent[] = [];
      for await (const event of again) againEvents.push(event);
      expect(await again.started).toEqual({
        runId: (await first.started).runId,
        threadId: (await first.started).threadId,
        status: 'completed',
        replayed: true,
      });
      expect(againEvents).toEqual(firstEvents);
      // Another request with that key is refused, not run.
      await expect(client.startRun('echo', { text: 'pay twice' }, options)).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    } finally {
      client.close();
    }
  });

  it('a closed client fails its waiting start with DISCONNECTED instead of waiting forever', async () => {
    const client = await connect();
    await proxy.cut();
    await waitFor(() => client.status === 'reconnecting', 'the client to notice the drop');
    const pending = client.startRun('echo', { text: 'never sent' });
    client.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await proxy.restore();
  });
});
