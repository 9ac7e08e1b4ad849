import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { HttpClient } from './support/http-client';
import { startTestApp, waitFor, type TestApp } from './support/test-app';

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const MCP_ACCEPT = { Accept: 'application/json, text/event-stream' };

describe('the agents as MCP tools (POST /mcp)', () => {
  let t: TestApp;
  const clients: Client[] = [];

  /** An MCP client (the SDK's own) of `userId`, connected to the app's /mcp. */
  async function connect(userId: string, options: { elicitation?: (request: unknown) => unknown } = {}): Promise<Client> {
    const client = new Client(
      { name: `test-${userId}`, version: '1.0.0' },
      { capabilities: options.elicitation ? { elicitation: {} } : {} },
    );
    if (options.elicitation) client.setRequestHandler(ElicitRequestSchema, (request) => options.elicitation!(request) as never);
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${t.token(userId)}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  const http = (userId?: string) => new HttpClient(t.url, userId ? t.token(userId) : undefined);

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await t?.close();
  });

  it('refuses a request without a valid token with 401, like every route', async () => {
    const none = await http().post('/mcp', INITIALIZE, { headers: MCP_ACCEPT });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    const bad = await http().post('/mcp', INITIALIZE, { headers: { ...MCP_ACCEPT, Authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect((await http().get('/mcp')).status).toBe(401);
  });

  it('lists one tool per agent, with its description and input schema', async () => {
    const client = await connect('alice');
    const { tools } = await client.listTools();
    const agents = (await http('alice').get('/agents')).body as Array<{ name: string; description: string; inputSchema: object }>;
    expect(tools).toEqual(agents.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })));
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool.inputSchema]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['echo', 'calculator', 'countdown', 'failing', 'approval']));
    // The schemas are the agents' own (see agent-schemas.e2e-spec.ts for each in full).
    expect(byName.calculator).toMatchObject({
      type: 'object',
      properties: { expression: { type: 'string', maxLength: 1000 } },
      required: ['expression'],
    });
    expect(byName.countdown).toMatchObject({
      type: 'object',
      properties: { steps: { type: 'integer', minimum: 1, maximum: 10_000 }, intervalMs: { type: 'integer', minimum: 0, maximum: 60_000 } },
      required: ['steps', 'intervalMs'],
    });
  });

  it("runs calculator as the caller: 35 for (2+3)*7, and the run is in the caller's GET /runs only", async () => {
    const alice = await connect('alice');
    const result = (await alice.callTool({ name: 'calculator', arguments: { expression: '(2+3)*7' } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: '35' }]);
    expect(result.structuredContent).toBeUndefined();
    const { runId, threadId } = result._meta as { runId: string; threadId: string };

    const mine = (await http('alice').get('/runs')).body.runs as Array<{ runId: string; status: string; agent: string; result?: unknown }>;
    expect(mine.find((r) => r.runId === runId)).toMatchObject({ agent: 'calculator', status: 'completed', result: 35 });
    expect((await http('alice').get(`/runs/${runId}`)).body).toMatchObject({ threadId, input: { expression: '(2+3)*7' } });

    // Another user's token: its own runs only, and not even a way to tell that alice's run exists.
    const bob = await connect('bob');
    const echoed = (await bob.callTool({ name: 'echo', arguments: { text: 'hi' } })) as CallToolResult;
    expect(echoed.content).toEqual([{ type: 'text', text: 'hi' }]);
    const bobs = (await http('bob').get('/runs')).body.runs as Array<{ runId: string }>;
    expect(bobs.map((r) => r.runId)).toEqual([(echoed._meta as { runId: string }).runId]);
    expect((await http('bob').get(`/runs/${runId}`)).status).toBe(404);
  });

  it("answers another user's session id as an unknown session", async () => {
    const init = await http('alice').post('/mcp', INITIALIZE, { headers: MCP_ACCEPT });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id')!;
    expect(sessionId).toEqual(expect.any(String));
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const asBob = await http('bob').post('/mcp', list, { headers: { ...MCP_ACCEPT, 'Mcp-Session-Id': sessionId } });
    expect(asBob.status).toBe(404);
    expect(asBob.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
  });

  it('continues the thread of _meta.threadId, and answers isError for a failed or refused run', async () => {
    const client = await connect('dora');
    const first = (await client.callTool({
      name: 'echo',
      arguments: { text: 'one' },
      _meta: { threadId: 'mcp-thread' },
    })) as CallToolResult;
    expect(first._meta).toMatchObject({ threadId: 'mcp-thread' });
    await client.callTool({ name: 'echo', arguments: { text: 'two' }, _meta: { threadId: 'mcp-thread' } });
    const thread = (await http('dora').get('/threads/mcp-thread')).body as { runs: Array<{ input: { text: string } }> };
    expect(thread.runs.map((r) => r.input.text)).toEqual(['one', 'two']);

    const failed = (await client.callTool({ name: 'failing', arguments: { message: 'it broke' } })) as CallToolResult;
    expect(failed.isError).toBe(true);
    expect(failed.content).toEqual([{ type: 'text', text: 'AGENT_FAILED: it broke' }]);

    const refused = (await client.callTool({ name: 'calculator', arguments: { expression: 42 } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect((refused.content as Array<{ text: string }>)[0].text).toMatch(/^VALIDATION_FAILED: /);
    await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow("Unknown tool 'nope'");
  });

  it('sends every event of the run as a progress notification when the call has a progressToken', async () => {
    const client = await connect('erin');
    const progress: Progress[] = [];
    const result = (await client.callTool({ name: 'countdown', arguments: { steps: 3, intervalMs: 5 } }, undefined, {
      onprogress: (p) => progress.push(p),
    })) as CallToolResult;
    expect(result.content).toEqual([{ type: 'text', text: '3' }]);
    // seq 1..5: started, 3 × thinking, completed.
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.map((p) => p.message?.split(':')[0])).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_thinking',
      'agent_thinking',
      'agent_completed',
    ]);
  });

  it('cancels the run when the client cancels the call', async () => {
    const client = await connect('fay');
    const controller = new AbortController();
    const progress: Progress[] = [];
    const call = client.callTool({ name: 'countdown', arguments: { steps: 10000, intervalMs: 20 } }, undefined, {
      signal: controller.signal,
      onprogress: (p) => progress.push(p),
    });
    await waitFor(() => progress.length >= 3, 'the countdown to tick');
    controller.abort('enough');
    await expect(call).rejects.toThrow();
    let run: { status: string; runId: string } | undefined;
    const deadline = Date.now() + 5000;
    while (run?.status !== 'cancelled' && Date.now() < deadline) {
      run = (await http('fay').get('/runs')).body.runs[0];
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(run).toMatchObject({ status: 'cancelled' });
    const events = (await http('fay').get(`/runs/${run!.runId}/events`)).body.events as Array<{ type: string; data: { reason?: string } }>;
    expect(events.at(-1)).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
  });

  it('lets the run go on when the client ends its session instead of cancelling the call', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${t.token('ivy')}` } },
    });
    const client = new Client({ name: 'test-ivy', version: '1.0.0' });
    await client.connect(transport);
    const progress: Progress[] = [];
    const call = client.callTool({ name: 'countdown', arguments: { steps: 20, intervalMs: 20 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    call.catch(() => undefined);
    await waitFor(() => progress.length >= 2, 'the countdown to tick');
    await transport.terminateSession();
    await client.close();
    let run: { status: string } | undefined;
    const deadline = Date.now() + 5000;
    while (run?.status !== 'completed' && Date.now() < deadline) {
      run = (await http('ivy').get('/runs')).body.runs[0];
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(run).toMatchObject({ status: 'completed', result: 20 });
  });

  it("asks the run's question through elicitation when the client can show forms", async () => {
    const asked: unknown[] = [];
    const client = await connect('gus', {
      elicitation: (request) => {
        asked.push(request);
        return { action: 'accept', content: { approved: true } };
      },
    });
    const result = (await client.callTool({ name: 'approval', arguments: { action: 'deploy' } })) as CallToolResult;
    expect(result.content).toEqual([{ type: 'text', text: 'performed deploy' }]);
    expect(asked).toEqual([
      expect.objectContaining({
        method: 'elicitation/create',
        params: expect.objectContaining({
          message: 'Approve: deploy?',
          requestedSchema: expect.objectContaining({ required: ['approved'] }),
        }),
      }),
    ]);
  });

  it("otherwise leaves the question to the user's other channels (HTTP here)", async () => {
    const client = await connect('hal');
    const call = client.callTool({ name: 'approval', arguments: { action: 'ship' } }) as Promise<CallToolResult>;
    let run: { runId: string; status: string; interrupt?: { interruptId: string } } | undefined;
    const deadline = Date.now() + 5000;
    while (run?.status !== 'waiting' && Date.now() < deadline) {
      const [first] = (await http('hal').get('/runs')).body.runs;
      run = first ? (await http('hal').get(`/runs/${first.runId}`)).body : undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(run).toMatchObject({ status: 'waiting' });
    const answer = await http('hal').post(`/runs/${run!.runId}/interrupts/${run!.interrupt!.interruptId}`, { approved: false });
    expect(answer.body).toMatchObject({ resolution: 'denied' });
    expect((await call).content).toEqual([{ type: 'text', text: 'declined' }]);
  });

  it('is not served with MCP_SERVER=false', async () => {
    const off = await startTestApp({ MCP_SERVER: 'false' });
    try {
      const answer = await new HttpClient(off.url, off.token('alice')).post('/mcp', INITIALIZE, { headers: MCP_ACCEPT });
      expect(answer.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
