import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import {
  chunk,
  errorReply,
  FakeLlmServer,
  silentReply,
  stallingReply,
  streamReply,
  textReply,
  toolCallReply,
} from '@agent-pipeline/llm/testing';
import { HttpClient } from './support/http-client';
import { command, ofRun, recordEvents, startTestApp, waitFor, waitForTerminal, type TestApp } from './support/test-app';
import { APPROVED_APPROVAL_RUN } from './support/demo-runs';

const API_KEY = 'sk-test-SECRET-3f9a1c0e7d2b4a6c';
const SYSTEM_PROMPT = 'You are the test assistant.';

/** Env of an app whose assistant talks to `server`. */
function llmEnv(server: FakeLlmServer, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LLM_BASE_URL: server.baseUrl,
    LLM_API_KEY: API_KEY,
    LLM_MODEL: 'test-model',
    LLM_SYSTEM_PROMPT: SYSTEM_PROMPT,
    LLM_MAX_STEPS: '3',
    LLM_MAX_RETRIES: '2',
    LLM_HISTORY_MESSAGES: '4',
    // Longer than Jest's test timeout: only a real cancel can close a stalled provider connection.
    LLM_TIMEOUT_MS: '120000',
    ...overrides,
  };
}

interface FinishedRun {
  runId: string;
  threadId: string;
  events: AgentEventEnvelope[];
  terminal: AgentEventEnvelope;
}

async function runAssistant(socket: Socket, events: AgentEventEnvelope[], text: string, threadId?: string): Promise<FinishedRun> {
  const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text }, threadId });
  expect(ack).toMatchObject({ ok: true });
  const terminal = await waitForTerminal(events, ack.runId);
  return { runId: ack.runId, threadId: ack.threadId, events: ofRun(events, ack.runId), terminal };
}

function deltasOf(events: AgentEventEnvelope[]): { messageId: string; delta: string }[] {
  return events.filter((e) => e.type === 'agent_message_delta').map((e) => e.data as { messageId: string; delta: string });
}

describe('assistant agent (LLM over an OpenAI-compatible API)', () => {
  let server: FakeLlmServer;
  let t: TestApp;
  let socket: Socket;
  let events: AgentEventEnvelope[];

  beforeAll(async () => {
    server = await FakeLlmServer.start();
    t = await startTestApp(llmEnv(server));
    socket = await t.connect('alice');
    events = recordEvents(socket);
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  beforeEach(() => server.reset());

  it('is registered when LLM_BASE_URL is set, and not otherwise', async () => {
    const listed = await command(socket, 'agents:list', {});
    expect(listed.agents).toContainEqual({
      name: 'assistant',
      description: expect.any(String),
      inputSchema: { type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'] },
      durable: expect.any(Boolean),
    });

    const without = await startTestApp({ LLM_BASE_URL: '' });
    try {
      const other = await without.connect('alice');
      const agents = (await command(other, 'agents:list', {})).agents as { name: string }[];
      expect(agents.map((a) => a.name)).not.toContain('assistant');
      expect(agents.map((a) => a.name)).toContain('echo');
    } finally {
      await without.close();
    }
  });

  it('streams a plain answer as deltas and completes with the text and the token usage', async () => {
    let firstDeltaSeen!: () => void;
    const gate = new Promise<void>((resolve) => (firstDeltaSeen = resolve));
    // The rest of the answer is only sent once the client has the first piece: proof it is streamed, not buffered.
    server.enqueue(textReply(['Hel', 'lo', ', wor', 'ld!'], { usage: [12, 4], beforePart: (i) => (i === 1 ? gate : undefined) }));
    const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'Say hello' } });
    await waitFor(() => ofRun(events, ack.runId).some((e) => e.type === 'agent_message_delta'), 'the first delta');
    firstDeltaSeen();
    const terminal = await waitForTerminal(events, ack.runId);
    const run = ofRun(events, ack.runId);

    expect(terminal.type).toBe('agent_completed');
    expect(terminal.data).toEqual({
      result: 'Hello, world!',
      usage: { inputTokens: 12, outputTokens: 4 },
      durationMs: expect.any(Number),
    });
    expect(run.map((e) => e.seq)).toEqual(run.map((_, i) => i + 1));
    expect(run[0].type).toBe('agent_started');
    expect(run[1]).toMatchObject({ type: 'agent_thinking', data: { step: 1, thought: expect.stringContaining('test-model') } });
    const deltas = deltasOf(run);
    expect(deltas[0].delta).toBe('Hel');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.map((d) => d.delta).join('')).toBe('Hello, world!');
    expect(new Set(deltas.map((d) => d.messageId)).size).toBe(1);
    expect(run.slice(2, -1).every((e) => e.type === 'agent_message_delta')).toBe(true);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true } });
    expect(request.body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'Say hello' },
    ]);
    expect(request.body.tools.map((tool: { function: { name: string } }) => tool.function.name).sort()).toEqual([
      'calculate',
      'current_time',
    ]);
    expect(request.body.tools.find((tool: { function: { name: string } }) => tool.function.name === 'calculate')).toEqual({
      type: 'function',
      function: {
        name: 'calculate',
        description: expect.any(String),
        parameters: {
          type: 'object',
          properties: { expression: { type: 'string', description: expect.any(String) } },
          required: ['expression'],
          additionalProperties: false,
        },
      },
    });
  });

  it('runs a calculate tool call streamed in pieces, sends the result back and streams the final answer', async () => {
    server.enqueue(
      toolCallReply([{ id: 'call_abc', name: 'calculate', argumentParts: ['{"expre', 'ssion": "(2 + 3', ') * 4"}'] }], { usage: [20, 10] }),
      textReply(['The answer ', 'is 20.'], { usage: [40, 5] }),
    );
    const run = await runAssistant(socket, events, 'What is (2 + 3) * 4?');

    expect(run.events.map((e) => e.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_thinking',
      ...deltasOf(run.events).map(() => 'agent_message_delta'),
      'agent_completed',
    ]);
    expect(run.events[2].data).toEqual({ toolCallId: 'call_abc', tool: 'calculate', args: { expression: '(2 + 3) * 4' } });
    expect(run.events[3].data).toEqual({ toolCallId: 'call_abc', tool: 'calculate', result: 20, durationMs: expect.any(Number) });
    expect(run.events[4].data).toEqual({ step: 2, thought: expect.stringContaining('1 tool result') });
    expect(run.terminal.data).toMatchObject({
      result: 'The answer is 20.',
      usage: { inputTokens: 60, outputTokens: 15 },
    });

    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'What is (2 + 3) * 4?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'calculate', arguments: '{"expression": "(2 + 3) * 4"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_abc', content: '20' },
    ]);
  });

  it('feeds bad tool calls back to the model as tool errors instead of failing the run', async () => {
    server.enqueue(
      toolCallReply([
        { id: 'call_json', name: 'calculate', argumentParts: ['{"expression": "1 +'] },
        { id: 'call_schema', name: 'calculate', argumentParts: ['{"expression": 5}'] },
        { id: 'call_unknown', name: 'launch_rockets', argumentParts: ['{}'] },
        { id: 'call_math', name: 'calculate', argumentParts: ['{"expression": "1 / 0"}'] },
      ]),
      textReply(['Sorry, I could not calculate that.']),
    );
    const run = await runAssistant(socket, events, 'Break things');

    expect(run.terminal).toMatchObject({ type: 'agent_completed', data: { result: 'Sorry, I could not calculate that.' } });
    const executing = run.events.filter((e) => e.type === 'tool_executing').map((e) => e.data);
    expect(executing).toEqual([
      { toolCallId: 'call_json', tool: 'calculate', args: '{"expression": "1 +' },
      { toolCallId: 'call_schema', tool: 'calculate', args: { expression: 5 } },
      { toolCallId: 'call_unknown', tool: 'launch_rockets', args: {} },
      { toolCallId: 'call_math', tool: 'calculate', args: { expression: '1 / 0' } },
    ]);
    const completed = run.events.filter((e) => e.type === 'tool_completed').map((e) => e.data as { toolCallId: string; error?: string });
    expect(completed.map((c) => c.toolCallId)).toEqual(['call_json', 'call_schema', 'call_unknown', 'call_math']);
    expect(completed.every((c) => typeof c.error === 'string' && !('result' in c))).toBe(true);
    expect(completed[0].error).toMatch(/not valid JSON/);
    expect(completed[1].error).toBe("Invalid arguments for 'calculate': args.expression must be a string (got number 5).");
    expect(completed[2].error).toBe("Unknown tool 'launch_rockets'. Available tools: calculate, current_time.");
    expect(completed[3].error).toBe('Division by zero at position 2');

    const toolMessages = server.requests[1].body.messages.filter((m: { role: string }) => m.role === 'tool');
    expect(toolMessages.map((m: { tool_call_id: string }) => m.tool_call_id)).toEqual([
      'call_json',
      'call_schema',
      'call_unknown',
      'call_math',
    ]);
    expect(toolMessages.map((m: { content: string }) => JSON.parse(m.content))).toEqual(completed.map((c) => ({ error: c.error })));
  });

  it('stops with AGENT_FAILED when the model still calls tools after LLM_MAX_STEPS calls', async () => {
    for (let i = 0; i < 3; i++) {
      server.enqueue(toolCallReply([{ id: `call_${i}`, name: 'current_time', argumentParts: ['{}'] }]));
    }
    const run = await runAssistant(socket, events, 'What time is it, again and again?');

    expect(run.terminal).toMatchObject({
      type: 'agent_error',
      data: { code: 'AGENT_FAILED', message: expect.stringContaining('LLM_MAX_STEPS (3)') },
    });
    expect(server.requests).toHaveLength(3);
    expect(run.events.filter((e) => e.type === 'agent_thinking').map((e) => (e.data as { step: number }).step)).toEqual([1, 2, 3]);
    const times = run.events.filter((e) => e.type === 'tool_completed').map((e) => e.data as { result: { iso: string; timeZone: string } });
    expect(times).toHaveLength(3);
    expect(times[0].result).toMatchObject({ timeZone: 'UTC', iso: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('sends the earlier messages of the same thread, and only of that user and thread', async () => {
    server.enqueue(textReply(['Nice to meet you, Ada.']));
    const first = await runAssistant(socket, events, 'My name is Ada.');
    expect(first.terminal.type).toBe('agent_completed');

    server.enqueue(textReply(['Your name is Ada.']));
    const second = await runAssistant(socket, events, 'What is my name?', first.threadId);
    expect(second.terminal).toMatchObject({ type: 'agent_completed', data: { result: 'Your name is Ada.' } });
    expect(second.events[1].data).toMatchObject({ thought: expect.stringContaining('2 earlier messages') });
    expect(server.requests[1].body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);

    // Another user on the same thread id, and the same user on another thread, start from scratch.
    const bob = await t.connect('bob');
    const bobEvents = recordEvents(bob);
    server.enqueue(textReply(['I do not know.']), textReply(['I do not know either.']));
    await runAssistant(bob, bobEvents, 'What is my name?', first.threadId);
    await runAssistant(socket, events, 'What is my name?');
    expect(server.requests[2].body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(server.requests[3].body.messages).toHaveLength(2);

    // LLM_HISTORY_MESSAGES=4: after three exchanges only the newest two are sent.
    server.enqueue(textReply(['Noted.']), textReply(['Ada, and you like tea.']));
    await runAssistant(socket, events, 'I like tea.', first.threadId);
    await runAssistant(socket, events, 'Summarise.', first.threadId);
    expect(server.requests[5].body.messages.map((m: { content: string }) => m.content)).toEqual([
      SYSTEM_PROMPT,
      'What is my name?',
      'Your name is Ada.',
      'I like tea.',
      'Noted.',
      'Summarise.',
    ]);
  });

  it('forgets a deleted thread: a new run on its threadId starts fresh; the same threadId of another user keeps its memory', async () => {
    const threadId = 'to-be-forgotten';
    // Bob has a thread of the same id: his memory must survive Alice's delete, and hers his attempt.
    const bob = await t.connect('bob-forgetful');
    const bobEvents = recordEvents(bob);
    server.enqueue(textReply(['Hi Ada.']), textReply(['Hi Bob.']));
    await runAssistant(socket, events, 'My name is Ada.', threadId);
    await runAssistant(bob, bobEvents, 'My name is Bob.', threadId);
    const http = (userId: string) => new HttpClient(t.url, t.token(userId));

    // Someone with no run on it cannot delete it (and learns nothing about it).
    const refused = await http('mallory').send('DELETE', `/threads/${threadId}`);
    expect(refused.status).toBe(404);
    expect((await http('alice').send('DELETE', `/threads/${threadId}`)).status).toBe(204);

    server.enqueue(textReply(['I do not know your name.']), textReply(['You are Bob.']));
    await runAssistant(socket, events, 'What is my name?', threadId);
    await runAssistant(bob, bobEvents, 'What is my name?', threadId);
    expect(server.requests[2].body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(server.requests[3].body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'My name is Bob.' },
      { role: 'assistant', content: 'Hi Bob.' },
      { role: 'user', content: 'What is my name?' },
    ]);
  });

  it('answers two quick messages on one thread one after the other, the second seeing the first exchange', async () => {
    let releaseFirst!: () => void;
    const gate = new Promise<void>((resolve) => (releaseFirst = resolve));
    // The first answer is still streaming when the second message arrives ("double texting").
    server.enqueue(textReply(['Hello ', 'Grace.'], { beforePart: (i) => (i === 1 ? gate : undefined) }), textReply(['You are Grace.']));
    const threadId = 'double-text';
    const first = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'I am Grace.' }, threadId });
    await waitFor(() => ofRun(events, first.runId).some((e) => e.type === 'agent_message_delta'), 'the first answer to be streaming');
    const second = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'Who am I?' }, threadId });
    expect([first.status, second.status]).toEqual(['running', 'queued']);
    // While the first answer streams, the model has been asked once: the second message waits.
    expect(server.requests).toHaveLength(1);
    releaseFirst();
    expect(await waitForTerminal(events, first.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'Hello Grace.' } });
    expect(await waitForTerminal(events, second.runId)).toMatchObject({ type: 'agent_completed', data: { result: 'You are Grace.' } });
    expect(server.requests.map((r) => r.body.messages)).toEqual([
      [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: 'I am Grace.' },
      ],
      [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: 'I am Grace.' },
        { role: 'assistant', content: 'Hello Grace.' },
        { role: 'user', content: 'Who am I?' },
      ],
    ]);
    const started = ofRun(events, second.runId)[0];
    const firstEnd = ofRun(events, first.runId).slice(-1)[0];
    expect(started).toMatchObject({ type: 'agent_started', seq: 1 });
    expect(events.indexOf(started)).toBeGreaterThan(events.indexOf(firstEnd));
  });

  it('closes the provider connection at once when the run is cancelled mid-stream', async () => {
    server.enqueue(stallingReply([chunk({ role: 'assistant', content: 'Once upon a time' })]));
    const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'Tell me a long story' } });
    await waitFor(() => ofRun(events, ack.runId).some((e) => e.type === 'agent_message_delta'), 'the first delta');
    const [request] = server.requests;
    let closed = false;
    void request.socketClosed.then(() => (closed = true));
    expect(closed).toBe(false);

    expect(await command(socket, 'run:cancel', { runId: ack.runId })).toEqual({ ok: true, runId: ack.runId });
    await request.socketClosed;
    expect(request.responseFinished).toBe(false);
    const terminal = await waitForTerminal(events, ack.runId);
    expect(terminal).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });
    expect(ofRun(events, ack.runId).filter((e) => e.type === 'agent_cancelled')).toHaveLength(1);
  });

  describe('provider errors end the run with AGENT_FAILED, a clear message and never the API key', () => {
    // Every error body quotes the key, as some providers do, to prove it never reaches the user.
    const quoting = (text: string) => `${text} (key ${API_KEY})`;

    async function failingRun(text: string): Promise<{ message: string; run: FinishedRun }> {
      const run = await runAssistant(socket, events, text);
      expect(run.terminal).toMatchObject({ type: 'agent_error', data: { code: 'AGENT_FAILED' } });
      expect(JSON.stringify(run.events)).not.toContain(API_KEY);
      return { message: (run.terminal.data as { message: string }).message, run };
    }

    it('401: names LLM_API_KEY, is not retried', async () => {
      server.enqueue(errorReply(401, quoting('Incorrect API key provided')));
      const { message } = await failingRun('hi');
      expect(message).toBe(`The model provider at ${server.baseUrl} refused the API key (401 Unauthorized). Check LLM_API_KEY.`);
      expect(server.requests).toHaveLength(1);
    });

    it('404: names the model and LLM_MODEL, is not retried', async () => {
      server.enqueue(errorReply(404, quoting('The model `test-model` does not exist')));
      const { message } = await failingRun('hi');
      expect(message).toContain("404 Not Found for model 'test-model'");
      expect(message).toContain('The model `test-model` does not exist (key [redacted])');
      expect(message).toContain('Check LLM_MODEL');
      expect(server.requests).toHaveLength(1);
    });

    it('429 then success: retried, and the run completes', async () => {
      server.enqueue(errorReply(429, quoting('Rate limit reached'), { 'retry-after': '0' }), textReply(['Made it.']));
      const run = await runAssistant(socket, events, 'hi');
      expect(run.terminal).toMatchObject({ type: 'agent_completed', data: { result: 'Made it.' } });
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1].body).toEqual(server.requests[0].body);
    });

    it('429 every time: retried LLM_MAX_RETRIES times, then fails', async () => {
      for (let i = 0; i < 3; i++) server.enqueue(errorReply(429, quoting('Rate limit reached'), { 'retry-after': '0' }));
      const { message } = await failingRun('hi');
      expect(message).toBe(
        `The model provider at ${server.baseUrl} is rate limiting requests (429 Too Many Requests) after 3 attempts: ` +
          'Rate limit reached (key [redacted]).',
      );
      expect(server.requests).toHaveLength(3);
    });

    it('500 every time: retried, then fails', async () => {
      for (let i = 0; i < 3; i++) server.enqueue(errorReply(500, quoting('The server had an error'), { 'retry-after-ms': '0' }));
      const { message } = await failingRun('hi');
      expect(message).toBe(
        `The model provider at ${server.baseUrl} failed with 500 after 3 attempts: The server had an error (key [redacted]).`,
      );
      expect(server.requests).toHaveLength(3);
    });

    it('a malformed stream chunk', async () => {
      server.enqueue(streamReply([chunk({ role: 'assistant', content: 'Partial' }), `{"id": "x", "choices": [ ${API_KEY}`]));
      const { message, run } = await failingRun('hi');
      expect(message).toMatch(new RegExp(`^The model provider at ${server.baseUrl} sent a malformed stream chunk \\(not JSON\\): `));
      expect(deltasOf(run.events).map((d) => d.delta)).toEqual(['Partial']);
      expect(server.requests).toHaveLength(1);
    });

    it('an error event in the middle of the stream', async () => {
      server.enqueue(
        streamReply([chunk({ content: 'Hm' }), { error: { message: quoting('The model is overloaded'), type: 'server_error' } }]),
      );
      const { message } = await failingRun('hi');
      expect(message).toBe(
        `The model provider at ${server.baseUrl} reported an error while streaming: The model is overloaded (key [redacted]).`,
      );
    });

    it('a stream that ends before the answer is complete', async () => {
      server.enqueue(streamReply([chunk({ role: 'assistant', content: 'Half an ans' })]));
      const { message } = await failingRun('hi');
      expect(message).toBe(`The model provider at ${server.baseUrl} ended the stream before the answer was complete (no finish_reason).`);
    });
  });

  describe('LLM_TIMEOUT_MS', () => {
    let fast: TestApp;
    let fastSocket: Socket;
    let fastEvents: AgentEventEnvelope[];

    beforeAll(async () => {
      fast = await startTestApp(llmEnv(server, { LLM_TIMEOUT_MS: '300' }));
      fastSocket = await fast.connect('carol');
      fastEvents = recordEvents(fastSocket);
    });

    afterAll(() => fast?.close());

    it.each([
      ['before any answer', silentReply()],
      ['in the middle of the stream', stallingReply([chunk({ role: 'assistant', content: 'Thinking' })])],
    ])('fails a provider that goes silent %s, abandons the request and does not retry', async (_when, reply) => {
      server.enqueue(reply);
      const run = await runAssistant(fastSocket, fastEvents, 'hi');
      expect(run.terminal).toMatchObject({
        type: 'agent_error',
        data: {
          code: 'AGENT_FAILED',
          message: `The model provider at ${server.baseUrl} sent nothing for 300 ms (LLM_TIMEOUT_MS); the request was abandoned.`,
        },
      });
      await server.requests[0].socketClosed;
      expect(server.requests).toHaveLength(1);
    });
  });
  describe('tools that need approval (LLM_APPROVAL_TOOLS)', () => {
    let gated: TestApp;
    let gatedSocket: Socket;
    let gatedEvents: AgentEventEnvelope[];

    beforeAll(async () => {
      gated = await startTestApp(llmEnv(server, { LLM_APPROVAL_TOOLS: 'calculate' }));
      gatedSocket = await gated.connect('dora');
      gatedEvents = recordEvents(gatedSocket);
    });

    afterAll(() => gated?.close());

    /** Starts a run whose model calls calculate, and waits for the approval question. */
    async function askedToCalculate(text: string) {
      server.enqueue(
        toolCallReply([{ id: 'call_gate', name: 'calculate', argumentParts: ['{"expression": "6 * 7"}'] }]),
        textReply(['Done.']),
      );
      const ack = await command(gatedSocket, 'run:start', { agent: 'assistant', input: { text } });
      expect(ack).toMatchObject({ ok: true });
      await waitFor(() => ofRun(gatedEvents, ack.runId).some((e) => e.type === 'interrupt_requested'), 'the approval question');
      const asked = ofRun(gatedEvents, ack.runId).find((e) => e.type === 'interrupt_requested')!;
      // Nothing ran yet, and the model has not been asked again.
      expect(ofRun(gatedEvents, ack.runId).some((e) => e.type === 'tool_executing')).toBe(false);
      expect(server.requests).toHaveLength(1);
      return { runId: ack.runId as string, asked: asked.data as { interruptId: string } };
    }

    it("asks before the call with the tool, its args and the model's toolCallId; approved, the tool runs", async () => {
      const { runId, asked } = await askedToCalculate('What is 6 * 7?');
      expect(asked).toEqual({
        interruptId: expect.any(String),
        kind: 'approval',
        message: expect.stringContaining('calculate'),
        tool: 'calculate',
        args: { expression: '6 * 7' },
        toolCallId: 'call_gate',
        expiresAt: expect.any(String),
      });
      const ack = await command(gatedSocket, 'run:resume', { runId, interruptId: asked.interruptId, approved: true });
      expect(ack).toMatchObject({ ok: true, resolution: 'approved' });
      const terminal = await waitForTerminal(gatedEvents, runId);
      expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'Done.' } });
      const types = ofRun(gatedEvents, runId).map((e) => e.type);
      expect(types.slice(0, 6)).toEqual(APPROVED_APPROVAL_RUN.slice(0, 6));
      expect(ofRun(gatedEvents, runId)[5].data).toMatchObject({ toolCallId: 'call_gate', result: 42 });
      const toolMessage = server.requests[1].body.messages.find((m: { role: string }) => m.role === 'tool');
      expect(toolMessage).toEqual({ role: 'tool', tool_call_id: 'call_gate', content: '42' });
    });

    it('refuses to start when LLM_APPROVAL_TOOLS names no tool', async () => {
      await expect(startTestApp(llmEnv(server, { LLM_APPROVAL_TOOLS: 'calculate,calculte' }))).rejects.toThrow(
        "LlmModule: 'approvalTools' names 'calculte', which is no tool. Registered tools: calculate, current_time.",
      );
    });

    it('denied, the tool does not run and the model is told that the user declined; the conversation goes on', async () => {
      const { runId, asked } = await askedToCalculate('What is 6 * 7, again?');
      const ack = await command(gatedSocket, 'run:resume', {
        runId,
        interruptId: asked.interruptId,
        approved: false,
        reason: 'no maths today',
      });
      expect(ack).toMatchObject({ ok: true, resolution: 'denied' });
      const terminal = await waitForTerminal(gatedEvents, runId);
      expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'Done.' } });
      const types = ofRun(gatedEvents, runId).map((e) => e.type);
      expect(types).not.toContain('tool_executing');
      expect(types).not.toContain('tool_completed');
      const toolMessage = server.requests[1].body.messages.find((m: { role: string }) => m.role === 'tool');
      expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_gate' });
      expect(JSON.parse(toolMessage.content).error).toMatch(/^The user declined this call.*no maths today/);
    });
  });
});
