import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { FakeLlmServer, textReply, toolCallReply } from '@agent-pipeline/llm/testing';
import type { AgentEventEnvelope, UsageReport } from '@agent-pipeline/nestjs';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { HttpClient } from './support/http-client';
import { metricValue } from './support/metrics';
import { uniqueSuffix } from './support/shared-services';
import { command, ofRun, recordEvents, startTestApp, waitForTerminal, type TestApp } from './support/test-app';

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function llmEnv(llm: FakeLlmServer): Record<string, string> {
  return { LLM_BASE_URL: llm.baseUrl, LLM_MODEL: 'test-model', LLM_MAX_RETRIES: '0' };
}

/** The seconds until the current UTC day ends. */
function secondsToMidnight(): number {
  const now = new Date();
  return (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
}

async function runAssistant(socket: Socket, events: AgentEventEnvelope[], text: string): Promise<AgentEventEnvelope> {
  const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text } });
  expect(ack).toMatchObject({ ok: true });
  return waitForTerminal(events, ack.runId);
}

describe('token usage per run and per user and day', () => {
  let llm: FakeLlmServer;
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    dir = mkdtempSync(join(tmpdir(), 'usage-'));
    t = await startTestApp({ ...llmEnv(llm), DATABASE_URL: `sqlite:${join(dir, 'runs.db')}` });
  });
  afterAll(async () => {
    await t?.close();
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => llm.reset());

  it("sums a run's model calls (the streamed usage chunks) into agent_completed, GET /runs/:runId and the token metric", async () => {
    const socket = await t.connect('ada');
    const events = recordEvents(socket);
    const before = await metricValue(t.url, 'agent_pipeline_llm_tokens_total', { agent: 'assistant', model: 'test-model', kind: 'input' });
    llm.enqueue(
      toolCallReply([{ id: 'call_1', name: 'calculate', argumentParts: ['{"expression": "6 * 7"}'] }], { usage: [20, 10] }),
      textReply(['It is 42.'], { usage: [40, 5] }),
    );
    const terminal = await runAssistant(socket, events, 'What is 6 * 7?');
    expect(terminal).toMatchObject({
      type: 'agent_completed',
      data: { result: 'It is 42.', usage: { inputTokens: 60, outputTokens: 15 } },
    });
    // Asked for: the provider only sends the usage chunk when the request says so.
    expect(llm.requests.every((r) => r.body.stream_options?.include_usage === true)).toBe(true);

    const http = new HttpClient(t.url, t.token('ada'));
    const run = await http.get(`/runs/${terminal.runId}`);
    expect(run.body.usage).toEqual({ inputTokens: 60, outputTokens: 15 });
    expect(await metricValue(t.url, 'agent_pipeline_llm_tokens_total', { agent: 'assistant', model: 'test-model', kind: 'input' })).toBe(
      before + 60,
    );
    expect(
      await metricValue(t.url, 'agent_pipeline_llm_tokens_total', { agent: 'assistant', model: 'test-model', kind: 'output' }),
    ).toBeGreaterThanOrEqual(15);

    // A run that called no model has no usage, in its event or its record.
    const echo = await http.post('/runs?wait=true', { agent: 'echo', input: { text: 'hi' } });
    expect(echo.body).not.toHaveProperty('usage');
    const { body } = await http.get(`/runs/${echo.body.runId}/events`);
    expect(body.events.at(-1).data).not.toHaveProperty('usage');
  });

  it('GET /usage sums per UTC day, agent and model, for the caller only, within from/to', async () => {
    const socket = await t.connect('grace');
    const events = recordEvents(socket);
    llm.enqueue(textReply(['One.'], { usage: [7, 1] }), textReply(['Two.'], { usage: [9, 2] }));
    await runAssistant(socket, events, 'first');
    await runAssistant(socket, events, 'second');
    // Usage of earlier days, as the store keeps it (runs of those days cannot be made now).
    const sqlite = new Database(join(dir, 'runs.db'));
    try {
      const insert = sqlite.prepare(
        'insert into usage_daily (user_id, day, agent, model, input_tokens, output_tokens, runs) values (?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run('grace', daysAgo(2), 'assistant', 'test-model', 100, 50, 3);
      insert.run('grace', daysAgo(2), 'assistant', 'big-model', 1000, 500, 1);
      insert.run('grace', daysAgo(40), 'assistant', 'test-model', 5, 5, 1);
      insert.run('not-grace', today(), 'assistant', 'test-model', 999, 999, 9);
    } finally {
      sqlite.close();
    }

    const http = new HttpClient(t.url, t.token('grace'));
    const report = await http.get<UsageReport>('/usage');
    expect(report.status).toBe(200);
    // The last 30 days by default: the day 40 days ago is left out; oldest day first, then agent, model.
    expect(report.body).toEqual({
      days: [
        { day: daysAgo(2), agent: 'assistant', model: 'big-model', inputTokens: 1000, outputTokens: 500, runs: 1 },
        { day: daysAgo(2), agent: 'assistant', model: 'test-model', inputTokens: 100, outputTokens: 50, runs: 3 },
        { day: today(), agent: 'assistant', model: 'test-model', inputTokens: 16, outputTokens: 3, runs: 2 },
      ],
      budget: { limit: 0, usedToday: 19 },
    });
    const todayOnly = await http.get<UsageReport>(`/usage?from=${today()}&to=${today()}`);
    expect(todayOnly.body.days).toEqual([
      { day: today(), agent: 'assistant', model: 'test-model', inputTokens: 16, outputTokens: 3, runs: 2 },
    ]);
    const long = await http.get<UsageReport>(`/usage?from=${daysAgo(60)}&to=${daysAgo(30)}`);
    expect(long.body.days).toEqual([
      { day: daysAgo(40), agent: 'assistant', model: 'test-model', inputTokens: 5, outputTokens: 5, runs: 1 },
    ]);

    for (const query of ['from=yesterday', 'to=2026-02-30', `from=${today()}&to=${daysAgo(1)}`, `from=${daysAgo(400)}`]) {
      const bad = await http.get(`/usage?${query}`);
      expect({ query, status: bad.status, code: bad.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await new HttpClient(t.url).get('/usage')).status).toBe(401);
  });
});

describe('daily token budget (MAX_TOKENS_PER_USER_PER_DAY)', () => {
  let llm: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await startTestApp({ ...llmEnv(llm), MAX_TOKENS_PER_USER_PER_DAY: '50' });
  });
  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });

  it('refuses new runs of agents that call a model once the day’s tokens reach it, but not other agents or other users', async () => {
    const socket = await t.connect('henry');
    const events = recordEvents(socket);
    const http = new HttpClient(t.url, t.token('henry'));
    llm.enqueue(textReply(['Under budget.'], { usage: [30, 10] }));
    expect(await runAssistant(socket, events, 'one')).toMatchObject({ type: 'agent_completed' });
    // 40 of 50: still under.
    llm.enqueue(textReply(['Over budget now.'], { usage: [20, 5] }));
    expect(await runAssistant(socket, events, 'two')).toMatchObject({ type: 'agent_completed' });
    expect((await http.get<UsageReport>('/usage')).body.budget).toEqual({ limit: 50, usedToday: 65 });

    const refused = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'three' } });
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'QUOTA_EXCEEDED',
        message: expect.stringContaining('MAX_TOKENS_PER_USER_PER_DAY'),
        details: { limit: 50, usedToday: 65 },
      },
    });
    const overHttp = await http.post('/runs', { agent: 'assistant', input: { text: 'three' } });
    expect(overHttp.status).toBe(429);
    expect(overHttp.body).toMatchObject({ statusCode: 429, code: 'QUOTA_EXCEEDED' });
    const retryAfter = Number(overHttp.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(Math.abs(retryAfter - secondsToMidnight())).toBeLessThanOrEqual(2);
    // The model was not asked again for the refused starts.
    expect(llm.requests).toHaveLength(2);

    // Agents that call no model still run.
    const echo = await command(socket, 'run:start', { agent: 'echo', input: { text: 'still here' } });
    expect(echo).toMatchObject({ ok: true });
    expect(await waitForTerminal(events, echo.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'still here' } });
    expect(ofRun(events, echo.runId)).toHaveLength(4);

    // Someone else's budget is their own.
    const other = await t.connect('iris');
    const otherEvents = recordEvents(other);
    llm.enqueue(textReply(['Hello Iris.'], { usage: [5, 5] }));
    expect(await runAssistant(other, otherEvents, 'hi')).toMatchObject({ type: 'agent_completed' });
  });
});

describeCluster('daily token budget across two nodes sharing PostgreSQL and Redis', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let llm: FakeLlmServer;
  const user = `budget-${uniqueSuffix()}`;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    nodes = await startTwoNodes('usage', { ...llmEnv(llm), MAX_TOKENS_PER_USER_PER_DAY: '100' });
  });
  afterAll(async () => {
    await nodes?.stop();
    await llm?.close();
  });

  it('tokens used through node A spend the budget on node B: B refuses the next assistant run, not an echo run', async () => {
    const onA = new HttpClient(nodes.a.url, nodes.a.token(user));
    const onB = new HttpClient(nodes.b.url, nodes.b.token(user));
    llm.enqueue(
      toolCallReply([{ id: 'call_1', name: 'calculate', argumentParts: ['{"expression": "1 + 1"}'] }], { usage: [50, 20] }),
      textReply(['Two.'], { usage: [30, 10] }),
    );
    const first = await onA.post('/runs?wait=true', { agent: 'assistant', input: { text: 'What is 1 + 1?' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'completed', usage: { inputTokens: 80, outputTokens: 30 } });
    // B reads the same day's usage from the shared store.
    expect((await onB.get(`/runs/${first.body.runId}`)).body.usage).toEqual({ inputTokens: 80, outputTokens: 30 });
    expect((await onB.get<UsageReport>('/usage')).body).toEqual({
      days: [{ day: today(), agent: 'assistant', model: 'test-model', inputTokens: 80, outputTokens: 30, runs: 1 }],
      budget: { limit: 100, usedToday: 110 },
    });

    const refused = await onB.post('/runs', { agent: 'assistant', input: { text: 'again' } });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('QUOTA_EXCEEDED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const socket = await nodes.b.connect(user);
    const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'again' } });
    expect(ack).toMatchObject({ ok: false, error: { code: 'QUOTA_EXCEEDED', details: { limit: 100, usedToday: 110 } } });
    expect(llm.requests).toHaveLength(2);

    const echo = await onB.post('/runs?wait=true', { agent: 'echo', input: { text: 'fine' } });
    expect(echo.body).toMatchObject({ status: 'completed', result: 'fine' });
    // Another user on the same nodes is not affected.
    const other = new HttpClient(nodes.a.url, nodes.a.token(`${user}-other`));
    llm.enqueue(textReply(['Hi.'], { usage: [1, 1] }));
    expect((await other.post('/runs?wait=true', { agent: 'assistant', input: { text: 'hi' } })).body.status).toBe('completed');
  });
});
