import { join } from 'node:path';
import { resolveMcpServers } from '../packages/llm/src/mcp/mcp-server.config';
import { McpServerConnection, type McpConnectionTimings } from '../packages/llm/src/mcp/mcp-server.connection';
import { Registry } from 'prom-client';
import { resolveLlmSettings } from '../packages/llm/src/llm.options';
import { McpMetrics } from '../packages/llm/src/mcp/mcp.metrics';
import { McpToolSource } from '../packages/llm/src/mcp/mcp-tool.source';
import { ToolCatalog } from '../packages/llm/src/tools/tool.catalog';
import type { ToolRegistry } from '../packages/llm/src/tools/tool.registry';
import { TestMcpServer } from './support/mcp/mcp-test.server';
import { waitFor } from './support/test-app';

// Quick retries and pings; a connect may take its time (a stdio server is a Node process to start, on a busy machine).
const FAST: McpConnectionTimings = { connectTimeoutMs: 15_000, reconnectInitialMs: 50, reconnectMaxMs: 200, pingIntervalMs: 100 };
const PING = {
  name: 'ping',
  description: 'pong',
  inputSchema: { type: 'object' },
  call: () => ({ content: [{ type: 'text' as const, text: 'pong' }] }),
};

/** One connection of the assistant to an MCP server, on its own: losing the server and getting it back. */
describe('an MCP server connection', () => {
  const open: McpServerConnection[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  function connection(entry: unknown): McpServerConnection {
    const c = new McpServerConnection(resolveMcpServers([entry])[0], FAST);
    open.push(c);
    return c;
  }

  it('marks a Streamable HTTP server that went away down (its tools left out) and reconnects once it is back', async () => {
    const server = await TestMcpServer.start([PING]);
    const port = Number(new URL(server.url).port);
    const sut = connection({ name: 'flaky', url: server.url });
    await sut.connect();
    expect(sut.status()).toEqual({ status: 'up', transport: 'http', tools: 1 });
    expect(sut.listTools().map((t) => t.name)).toEqual(['mcp__flaky__ping']);

    await server.close();
    await waitFor(() => sut.status().status === 'down', 'the ping to notice');
    expect(sut.listTools()).toEqual([]);
    await expect(
      sut.call(
        { name: 'mcp__flaky__ping', server: 'flaky', mcpName: 'ping', description: '', inputSchema: {} },
        {},
        {
          signal: new AbortController().signal,
          timeoutMs: 1000,
        },
      ),
    ).rejects.toThrow("The MCP server 'flaky' is not connected");

    const back = await TestMcpServer.start([PING], port);
    try {
      await waitFor(() => sut.status().status === 'up', 'the reconnect', 15_000);
      const [tool] = sut.listTools();
      await expect(sut.call(tool, {}, { signal: new AbortController().signal, timeoutMs: 10_000 })).resolves.toBe('pong');
    } finally {
      await back.close();
    }
  });

  it('restarts a stdio server whose process exited', async () => {
    const sut = connection({ name: 'files', command: process.execPath, args: [join(__dirname, 'support', 'mcp', 'stdio-mcp.server.js')] });
    await sut.connect();
    expect(sut.status()).toEqual({ status: 'up', transport: 'stdio', tools: 1 });
    const [tool] = sut.listTools();
    const call = () => sut.call(tool, { text: 'ab' }, { signal: new AbortController().signal, timeoutMs: 10_000 }) as Promise<string>;
    const pidOf = (text: string) => Number(/pid (\d+)/.exec(text)![1]);
    const first = pidOf(await call());
    process.kill(first, 'SIGKILL');
    await waitFor(() => sut.status().status === 'down', 'the exit to be seen');
    await waitFor(() => sut.status().status === 'up', 'the restart', 20_000);
    const second = pidOf(await call());
    expect(second).not.toBe(first);
  });

  it('fails a call that outlasts its timeout with a message that says so', async () => {
    const server = await TestMcpServer.start([
      { name: 'stuck', description: 'never answers', inputSchema: { type: 'object' }, call: () => new Promise(() => undefined) },
    ]);
    try {
      const sut = connection({ name: 'slow', url: server.url });
      await sut.connect();
      const [tool] = sut.listTools();
      await expect(sut.call(tool, {}, { signal: new AbortController().signal, timeoutMs: 200 })).rejects.toThrow(
        "The MCP tool 'stuck' of server 'slow' did not answer within 200 ms.",
      );
      // A slow tool is not a lost server.
      expect(sut.status().status).toBe('up');
    } finally {
      await server.close();
    }
  });

  it("asks for approval where the server's needsApproval or an LLM_APPROVAL_TOOLS entry says so, and nowhere else", async () => {
    const ADD = { ...PING, name: 'add' };
    const server = await TestMcpServer.start([PING, ADD]);
    const other = await TestMcpServer.start([PING, ADD]);
    const settings = resolveLlmSettings({
      baseUrl: 'http://127.0.0.1:1/v1',
      model: 'm',
      approvalTools: ['mcp__other__*'],
      mcpServers: [
        { name: 'calc', url: server.url, needsApproval: ['add'] },
        { name: 'other', url: other.url },
        { name: 'all', url: server.url, needsApproval: true },
      ],
    });
    const source = new McpToolSource(settings, new McpMetrics({ registry: new Registry() } as never));
    const noLocalTools = { get: () => undefined, list: () => [], names: () => [] } as unknown as ToolRegistry;
    const sut = new ToolCatalog(noLocalTools, source, settings);
    try {
      await source.onApplicationBootstrap();
      expect(sut.names()).toEqual([
        'mcp__calc__ping',
        'mcp__calc__add',
        'mcp__other__ping',
        'mcp__other__add',
        'mcp__all__ping',
        'mcp__all__add',
      ]);
      expect(sut.names().filter((name) => sut.needsApproval(name))).toEqual([
        'mcp__calc__add',
        'mcp__other__ping',
        'mcp__other__add',
        'mcp__all__ping',
        'mcp__all__add',
      ]);
      expect(sut.unknownApprovalEntries()).toEqual([]);
    } finally {
      await source.onApplicationShutdown();
      await Promise.all([server.close(), other.close()]);
    }
  });
});
