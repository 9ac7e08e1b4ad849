import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { FakeLlmServer, textReply, toolCallReply } from '@agent-pipeline/llm/testing';
import { HttpClient, metricValue } from './support/http-client';
import { TestMcpServer, type TestMcpTool } from './support/mcp/mcp-test.server';
import { command, ofRun, recordEvents, startTestApp, waitFor, waitForTerminal, type TestApp } from './support/test-app';

const STDIO_SERVER = join(__dirname, 'support', 'mcp', 'stdio-mcp.server.js');

const ADD: TestMcpTool = {
  name: 'add',
  description: 'Adds two numbers.',
  inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number', minimum: 0 } }, required: ['a', 'b'] },
  call: ({ a, b }) => ({
    content: [{ type: 'text', text: `${Number(a) + Number(b)}` }],
    structuredContent: { sum: Number(a) + Number(b) },
  }),
};
const FAIL: TestMcpTool = {
  name: 'fail',
  description: 'Always fails.',
  inputSchema: { type: 'object' },
  call: () => ({ content: [{ type: 'text', text: 'the warehouse is closed' }], isError: true }),
};
const SLOW: TestMcpTool = {
  name: 'slow',
  description: 'Answers only when cancelled.',
  inputSchema: { type: 'object' },
  call: (_args, signal) =>
    new Promise((resolve) => signal.addEventListener('abort', () => resolve({ content: [{ type: 'text', text: 'too late' }] }))),
};
const PING: TestMcpTool = {
  name: 'ping',
  description: 'Answers pong.',
  inputSchema: { type: 'object' },
  call: () => ({ content: [{ type: 'text', text: 'pong' }] }),
};

/** Polls an async condition (a health answer) until it holds. */
async function eventually(predicate: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function llmEnv(model: FakeLlmServer, servers: unknown[], overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LLM_BASE_URL: model.baseUrl,
    LLM_MODEL: 'test-model',
    LLM_MAX_STEPS: '3',
    LLM_MAX_RETRIES: '0',
    LLM_TIMEOUT_MS: '120000',
    LLM_MCP_SERVERS: JSON.stringify(servers),
    ...overrides,
  };
}

describe('assistant with tools of MCP servers (LLM_MCP_SERVERS)', () => {
  let model: FakeLlmServer;
  let calc: TestMcpServer;
  let later: TestMcpServer | undefined;
  let laterPort: number;
  let t: TestApp;
  let http: HttpClient;
  let socket: Socket;
  let events: AgentEventEnvelope[];

  beforeAll(async () => {
    model = await FakeLlmServer.start();
    calc = await TestMcpServer.start([ADD, FAIL, SLOW]);
    laterPort = await freePort();
    t = await startTestApp(
      llmEnv(
        model,
        [
          { name: 'calc', url: calc.url, headers: { 'X-Api-Key': 'calc-key' } },
          { name: 'files', command: process.execPath, args: [STDIO_SERVER], env: { STDIO_GREETING: 'hi' } },
          { name: 'later', url: `http://127.0.0.1:${laterPort}/mcp` },
        ],
        { LLM_APPROVAL_TOOLS: 'mcp__files__*' },
      ),
    );
    http = new HttpClient(t.url, t.token('alice'));
    socket = await t.connect('alice');
    events = recordEvents(socket);
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all([model?.close(), calc?.close(), later?.close()]);
  });

  beforeEach(() => model.reset());

  async function run(text: string): Promise<string> {
    const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text } });
    expect(ack).toMatchObject({ ok: true });
    return ack.runId;
  }

  it("offers each connected server's tools to the model as mcp__<server>__<tool> with their schemas, and calls them over Streamable HTTP", async () => {
    model.enqueue(
      toolCallReply([{ id: 'call_add', name: 'mcp__calc__add', argumentParts: ['{"a": 2,', ' "b": 3}'] }]),
      textReply(['2 + 3 = 5.']),
    );
    const runId = await run('What is 2 + 3?');
    const terminal = await waitForTerminal(events, runId);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: '2 + 3 = 5.' } });

    const offered = model.requests[0].body.tools.map((tool: { function: { name: string } }) => tool.function);
    expect(offered).toContainEqual({ name: 'mcp__calc__add', description: 'Adds two numbers.', parameters: ADD.inputSchema });
    expect(offered.map((f: { name: string }) => f.name)).toEqual(
      expect.arrayContaining(['calculate', 'current_time', 'mcp__calc__fail', 'mcp__calc__slow', 'mcp__files__reverse']),
    );
    // The server that is down offers nothing.
    expect(offered.some((f: { name: string }) => f.name.startsWith('mcp__later__'))).toBe(false);

    const tools = ofRun(events, runId).filter((e) => e.type.startsWith('tool_'));
    expect(tools.map((e) => [e.type, e.data])).toEqual([
      ['tool_executing', { toolCallId: 'call_add', tool: 'mcp__calc__add', args: { a: 2, b: 3 } }],
      ['tool_completed', { toolCallId: 'call_add', tool: 'mcp__calc__add', result: { sum: 5 }, durationMs: expect.any(Number) }],
    ]);
    expect(calc.calls.at(-1)).toMatchObject({ tool: 'add', args: { a: 2, b: 3 } });
    expect(calc.calls.at(-1)!.headers['x-api-key']).toBe('calc-key');
    const toolMessage = model.requests[1].body.messages.find((m: { role: string }) => m.role === 'tool');
    expect(toolMessage).toEqual({ role: 'tool', tool_call_id: 'call_add', content: '{"sum":5}' });

    const metrics = (await http.get('/metrics')).body as string;
    expect(metricValue(metrics, 'agent_pipeline_mcp_tool_calls_total', { server: 'calc', tool: 'add', outcome: 'ok' })).toBe(1);
    expect(metricValue(metrics, 'agent_pipeline_mcp_server_up', { server: 'calc' })).toBe(1);
    expect(metricValue(metrics, 'agent_pipeline_mcp_server_up', { server: 'later' })).toBe(0);
  });

  it('asks the user first for a tool covered by an mcp__<server>__* pattern, then calls it on the stdio server', async () => {
    model.enqueue(
      toolCallReply([{ id: 'call_rev', name: 'mcp__files__reverse', argumentParts: ['{"text": "hello"}'] }]),
      textReply(['Done.']),
    );
    const runId = await run('Reverse hello');
    await waitFor(() => ofRun(events, runId).some((e) => e.type === 'interrupt_requested'), 'the approval question');
    const asked = ofRun(events, runId).find((e) => e.type === 'interrupt_requested')!.data as { interruptId: string };
    expect(asked).toMatchObject({ kind: 'approval', tool: 'mcp__files__reverse', args: { text: 'hello' }, toolCallId: 'call_rev' });
    expect(ofRun(events, runId).some((e) => e.type === 'tool_executing')).toBe(false);

    const ack = await command(socket, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
    expect(ack).toMatchObject({ ok: true, resolution: 'approved' });
    expect(await waitForTerminal(events, runId)).toMatchObject({ type: 'agent_completed', data: { result: 'Done.' } });
    const completed = ofRun(events, runId).find((e) => e.type === 'tool_completed')!.data as { result: string };
    // Reversed by a child process of its own, which got the configured env.
    expect(completed.result).toMatch(/^olleh \(from pid (\d+), hi\)$/);
    expect(Number(/pid (\d+)/.exec(completed.result)![1])).not.toBe(process.pid);
  });

  it("makes an isError answer the tool's error, sent back to the model; the run goes on", async () => {
    model.enqueue(toolCallReply([{ id: 'call_fail', name: 'mcp__calc__fail', argumentParts: ['{}'] }]), textReply(['Sorry.']));
    const runId = await run('Order something');
    expect(await waitForTerminal(events, runId)).toMatchObject({ type: 'agent_completed', data: { result: 'Sorry.' } });
    const completed = ofRun(events, runId).find((e) => e.type === 'tool_completed')!.data;
    expect(completed).toEqual({
      toolCallId: 'call_fail',
      tool: 'mcp__calc__fail',
      error: 'the warehouse is closed',
      durationMs: expect.any(Number),
    });
    const toolMessage = model.requests[1].body.messages.find((m: { role: string }) => m.role === 'tool');
    expect(toolMessage.content).toBe('{"error":"the warehouse is closed"}');
  });

  it('cancels a slow MCP call on its server when the run is cancelled', async () => {
    model.enqueue(toolCallReply([{ id: 'call_slow', name: 'mcp__calc__slow', argumentParts: ['{}'] }]));
    const before = calc.calls.length;
    const runId = await run('Take your time');
    await waitFor(() => calc.calls.length > before, 'the call to reach the MCP server');
    const ack = await command(socket, 'run:cancel', { runId });
    expect(ack).toMatchObject({ ok: true });
    expect(await waitForTerminal(events, runId)).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
    // The server's handler saw the client's notifications/cancelled.
    await expect(calc.calls[before].cancelled).resolves.toBeDefined();
    expect(ofRun(events, runId).some((e) => e.type === 'tool_completed')).toBe(false);
  });

  it('shows each server on /health; a server down at start is retried and its tools appear once it is up', async () => {
    const health = await new HttpClient(t.url).get('/health');
    expect(health.status).toBe(200);
    expect(health.body.details.mcp).toEqual({
      status: 'up',
      servers: {
        calc: { status: 'up', transport: 'http', tools: 3 },
        files: { status: 'up', transport: 'stdio', tools: 1 },
        later: {
          status: 'down',
          transport: 'http',
          tools: 0,
          message: expect.stringContaining('fetch failed'),
          failures: expect.any(Number),
        },
      },
    });

    later = await TestMcpServer.start([PING], laterPort);
    await eventually(
      async () => (await new HttpClient(t.url).get('/health')).body.details.mcp.servers.later.status === 'up',
      'later to be up',
      20_000,
    );

    model.enqueue(toolCallReply([{ id: 'call_ping', name: 'mcp__later__ping', argumentParts: ['{}'] }]), textReply(['It answered.']));
    const runId = await run('Ping later');
    expect(await waitForTerminal(events, runId)).toMatchObject({ type: 'agent_completed' });
    expect(ofRun(events, runId).find((e) => e.type === 'tool_completed')!.data).toMatchObject({ result: 'pong' });
  }, 30_000);

  it('follows tools/list_changed: a tool the server adds is offered to the next run', async () => {
    await calc.setTools([ADD, FAIL, SLOW, PING]);
    await eventually(
      async () => (await new HttpClient(t.url).get('/health')).body.details.mcp.servers.calc.tools === 4,
      'the new tool list',
    );
    model.enqueue(textReply(['Hi.']));
    const runId = await run('Hello');
    await waitForTerminal(events, runId);
    const offered = model.requests[0].body.tools.map((tool: { function: { name: string } }) => tool.function.name);
    expect(offered).toContain('mcp__calc__ping');
  });

  it('adds no mcp entry to /health without MCP servers', async () => {
    const plain = await startTestApp(llmEnv(model, []));
    try {
      const health = await new HttpClient(plain.url).get('/health');
      expect(health.status).toBe(200);
      expect(Object.keys(health.body.details)).toEqual(['store']);
    } finally {
      await plain.close();
    }
  });

  it('refuses to start with a misconfigured LLM_MCP_SERVERS, naming the entry', async () => {
    await expect(
      startTestApp(
        llmEnv(model, [
          { name: 'ok', url: calc.url },
          { name: 'files', args: ['x'] },
        ]),
      ),
    ).rejects.toThrow("LlmModule: mcpServers[1] ('files') needs exactly one of 'url' (Streamable HTTP) or 'command' (stdio).");
    await expect(startTestApp(llmEnv(model, [], { LLM_MCP_SERVERS: '[{"name": ' }))).rejects.toThrow(
      'LLM_MCP_SERVERS must be a JSON array',
    );
    await expect(startTestApp(llmEnv(model, [{ name: 'calc', url: calc.url }], { LLM_APPROVAL_TOOLS: 'mcp__clac__*' }))).rejects.toThrow(
      "'approvalTools' names 'mcp__clac__*', which is no tool",
    );
  });
});
