import { Logger } from '@nestjs/common';
import { createServer, type AddressInfo } from 'node:net';
import { LlmClient } from './llm.client';
import type { LlmSettings } from './llm.options';
import { LlmProviderError } from './llm-provider.error';
import { errorReply, FakeLlmServer, textReply, toolCallReply } from './testing/fake-llm.server';

const settings = (baseUrl: string, overrides: Partial<LlmSettings> = {}): LlmSettings => ({
  baseUrl,
  apiKey: 'sk-unit-key',
  model: 'unit-model',
  provider: 'openai',
  maxSteps: 4,
  timeoutMs: 60_000,
  maxRetries: 2,
  historyMessages: 10,
  maxDeltaEventsPerSecond: 20,
  approvalTools: [],
  mcpServers: [],
  mcpCallTimeoutMs: 60_000,
  mcpTimings: { connectTimeoutMs: 10_000, reconnectInitialMs: 500, reconnectMaxMs: 30_000, pingIntervalMs: 15_000 },
  ...overrides,
});

const request = { messages: [{ role: 'user' as const, content: 'hi' }], tools: [] };

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('LlmClient', () => {
  let server: FakeLlmServer;

  beforeAll(async () => (server = await FakeLlmServer.start()));
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('streams text pieces to onText and returns the whole turn', async () => {
    server.enqueue(textReply(['a', 'b', 'c'], { usage: [3, 3] }));
    const pieces: string[] = [];
    const turn = await new LlmClient(settings(server.baseUrl)).stream(request, {
      signal: new AbortController().signal,
      onText: (t) => pieces.push(t),
    });
    expect(pieces).toEqual(['a', 'b', 'c']);
    expect(turn).toEqual({
      content: 'abc',
      toolCalls: [],
      finishReason: 'stop',
      model: 'test-model',
      usage: { inputTokens: 3, outputTokens: 3 },
    });
    expect(server.requests[0].body).not.toHaveProperty('tools');
  });

  it('returns tool calls put together from their pieces', async () => {
    server.enqueue(toolCallReply([{ id: 'call_1', name: 'calculate', argumentParts: ['{"expression"', ':"1+1"}'] }]));
    const turn = await new LlmClient(settings(server.baseUrl)).stream(request, {
      signal: new AbortController().signal,
      onText: () => undefined,
    });
    expect(turn.toolCalls).toEqual([{ id: 'call_1', name: 'calculate', arguments: '{"expression":"1+1"}' }]);
  });

  it('reports a server that cannot be reached, after its retries', async () => {
    const port = await closedPort();
    const client = new LlmClient(settings(`http://127.0.0.1:${port}/v1`, { maxRetries: 1 }));
    const failure = client.stream(request, { signal: new AbortController().signal, onText: () => undefined });
    await expect(failure).rejects.toBeInstanceOf(LlmProviderError);
    await expect(failure).rejects.toThrow(
      `Could not reach the model provider at http://127.0.0.1:${port}/v1 after 2 attempts: connect ECONNREFUSED 127.0.0.1:${port}. ` +
        'Check LLM_BASE_URL and that the server is running.',
    );
  });

  it('stops waiting for a retry the moment the run is cancelled', async () => {
    // The provider asks for a 20 s pause, longer than this test may take: only the abort can end the wait.
    server.enqueue(errorReply(429, 'Slow down', { 'retry-after': '20' }));
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const controller = new AbortController();
    const failure = new LlmClient(settings(server.baseUrl)).stream(request, { signal: controller.signal, onText: () => undefined });
    // The client logs the retry right before it starts waiting.
    await new Promise<void>((resolve) => warn.mockImplementation(() => resolve()));
    expect(warn.mock.calls[0][0]).toMatch(/retry 1 of 2 in 20000 ms/);
    controller.abort('user');
    await expect(failure).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(1);
    warn.mockRestore();
  }, 10_000);

  it('does not call the provider for a run that is already cancelled', async () => {
    const controller = new AbortController();
    controller.abort('user');
    await expect(
      new LlmClient(settings(server.baseUrl)).stream(request, { signal: controller.signal, onText: () => undefined }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(0);
  });
});
