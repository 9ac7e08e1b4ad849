import { Module } from '@nestjs/common';
import { abortableSleep, Agent, type AgentHandler, type AgentRunContext, type AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { metricValue } from './support/metrics';
import { createTestSchema, postgresUrl, uniqueSuffix, type TestSchema } from './support/shared-services';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { command, ofRun, recordEvents, startTestApp, waitFor, waitForTerminal, type TestApp } from './support/test-app';

const pg = postgresUrl();
const reason = pg ? '' : 'skipped: needs PostgreSQL (set TEST_DATABASE_URL=postgres://…; CI does)';
if (reason) console.warn(`store backlog e2e ${reason}`);
const describePg = reason ? describe.skip : describe;

const BACKLOG = 100;

/**
 * A long run that is not durable: its events go out live while the store is down (a durable
 * run's wait for the store by design, see "Durable runs"), which is what this outage test needs.
 */
@Agent({ name: 'ticker', description: 'Ticks like countdown, without durability.' })
class TickerAgent implements AgentHandler<{ steps: number; intervalMs: number }, number> {
  async run({ input, notifier, signal }: AgentRunContext<{ steps: number; intervalMs: number }>): Promise<number> {
    for (let tick = 1; tick <= input.steps; tick++) {
      await abortableSleep(input.intervalMs, signal);
      notifier.thinking(`Tick ${tick} of ${input.steps}`);
    }
    return input.steps;
  }
}

@Module({ providers: [TickerAgent] })
class TickerModule {}

describePg(`a store outage past STORE_BACKLOG_MAX_EVENTS${reason ? ` (${reason})` : ''}`, () => {
  jest.setTimeout(60_000);
  let schema: TestSchema;
  let proxy: TcpProxy;
  let t: TestApp;
  const user = `backlog-${uniqueSuffix()}`;

  beforeAll(async () => {
    schema = await createTestSchema(pg!, 'backlog');
    const target = new URL(schema.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const proxied = new URL(schema.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    t = await startTestApp(
      {
        DATABASE_URL: proxied.toString(),
        STORE_BACKLOG_MAX_EVENTS: String(BACKLOG),
        RATE_LIMIT_RUNS_PER_MINUTE: '0',
      },
      { imports: [TickerModule] },
    );
  });
  afterAll(async () => {
    // Give the store back first if a failed test left it cut, so the app can flush and close.
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
    await schema?.drop();
  });

  const backlog = () => metricValue(t.url, 'agent_pipeline_store_backlog_events');

  async function storedEvents(runId: string): Promise<AgentEventEnvelope[]> {
    const res = await fetch(`${t.url}/runs/${runId}/events`, { headers: { authorization: `Bearer ${t.token(user)}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: AgentEventEnvelope[] }).events;
  }

  it('refuses new runs with UNAVAILABLE (503 + Retry-After) while running runs stream on, and stores everything accepted once the store is back', async () => {
    const socket = await t.connect(user);
    const live = recordEvents(socket);
    const long = await command(socket, 'run:start', { agent: 'ticker', input: { steps: 300, intervalMs: 10 } });
    expect(long.ok).toBe(true);
    await waitFor(() => ofRun(live, long.runId).length >= 5, 'the long run to be under way');

    await proxy.cut();
    // Below the bound a run is still accepted: it waits in memory with everything else.
    const during = await command(socket, 'run:start', { agent: 'echo', input: { text: 'accepted while the store is down' } });
    expect(during.ok).toBe(true);
    await waitForTerminal(live, during.runId);

    let waiting = 0;
    for (const deadline = Date.now() + 20_000; waiting < BACKLOG && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
      waiting = await backlog();
    }
    expect(waiting).toBeGreaterThanOrEqual(BACKLOG);

    const refused = await command(socket, 'run:start', { agent: 'echo', input: { text: 'refused' } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    const http = await fetch(`${t.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token(user)}` },
      body: JSON.stringify({ agent: 'echo', input: { text: 'refused over HTTP' } }),
    });
    expect(http.status).toBe(503);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await http.json()).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });

    // The run already going keeps streaming live to its user while nothing can be stored.
    const seen = ofRun(live, long.runId).length;
    await waitFor(() => ofRun(live, long.runId).length >= seen + 10, 'live events of the running run during the outage');

    await proxy.restore();
    const terminal = await waitForTerminal(live, long.runId, 30_000);
    expect(terminal.type).toBe('agent_completed');
    for (const deadline = Date.now() + 20_000; (await backlog()) > 0 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 100));
    expect(await backlog()).toBe(0);

    const after = await command(socket, 'run:start', { agent: 'echo', input: { text: 'after the outage' } });
    expect(after.ok).toBe(true);
    await waitForTerminal(live, after.runId);

    // Nothing accepted was lost: the store holds exactly what the user saw live, for every run.
    for (const runId of [long.runId, during.runId, after.runId]) {
      expect(await storedEvents(runId)).toEqual(ofRun(live, runId));
    }
    expect(ofRun(live, long.runId)).toHaveLength(302);
    console.log(
      `store backlog: ${waiting} events waited; UNAVAILABLE over the socket and 503 Retry-After ${http.headers.get('retry-after')} over HTTP`,
    );
  });
});
