import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
  readUIMessageStream,
  type ChatInit,
  type ChatState,
  type ChatStatus,
  type UIMessage,
  type UIMessageChunk,
} from 'ai';
import { randomUUID } from 'node:crypto';
import { FakeLlmServer, textReply, toolCallReply } from '@agent-pipeline/llm/testing';
import type { RunMessageMetadata } from '../packages/nestjs/src/transport/ai-sdk/ui-message-stream.translator';
import { HttpClient } from './support/http-client';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import type { ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { startTestApp, waitFor, type TestApp } from './support/test-app';

type ChatMessage = UIMessage<RunMessageMetadata>;

function userMessage(text: string): ChatMessage {
  return { id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] };
}

/** The text of a message's text parts, joined. */
function textOf(message: ChatMessage): string {
  return message.parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
}

function reasoningOf(message: ChatMessage): string[] {
  return message.parts.flatMap((p) => (p.type === 'reasoning' ? [p.text] : []));
}

/** The state `useChat` keeps in React, kept in plain fields: the rest is the AI SDK's own chat. */
class PlainChatState<M extends UIMessage> implements ChatState<M> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  constructor(public messages: M[] = []) {}
  pushMessage = (message: M) => void (this.messages = this.messages.concat(message));
  popMessage = () => void (this.messages = this.messages.slice(0, -1));
  replaceMessage = (index: number, message: M) => void (this.messages = this.messages.map((m, i) => (i === index ? message : m)));
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

/** The AI SDK's chat (what `useChat` drives), without React. */
class PlainChat<M extends UIMessage> extends AbstractChat<M> {
  constructor(init: ChatInit<M>) {
    super({ ...init, state: new PlainChatState<M>(init.messages) });
  }
}

/** What the AI SDK's own reader builds from a stream, as `useChat` would: every state of the message, and the errors. */
interface Read {
  /** One entry per message the stream started (a UI message stream carries one). */
  messageIds: string[];
  message: ChatMessage;
  errors: string[];
}

async function readAll(stream: ReadableStream<UIMessageChunk>, until?: (m: ChatMessage) => boolean): Promise<Read> {
  const errors: string[] = [];
  const messageIds: string[] = [];
  let message: ChatMessage | undefined;
  for await (const state of readUIMessageStream<ChatMessage>({ stream, onError: (e) => errors.push((e as Error).message) })) {
    if (messageIds[messageIds.length - 1] !== state.id) messageIds.push(state.id);
    message = state;
    if (until?.(state)) break;
  }
  return { messageIds, message: message!, errors };
}

describe('AI SDK useChat (UI message stream protocol)', () => {
  let t: TestApp;
  let alice: HttpClient;

  /** The transport `useChat` would use for `agent`, with the caller's token. */
  function transport(agent: string, user = 'alice', body?: Record<string, unknown>): DefaultChatTransport<ChatMessage> {
    return new DefaultChatTransport<ChatMessage>({
      api: `${t.url}/ai-sdk/agents/${agent}/chat`,
      headers: { Authorization: `Bearer ${t.token(user)}` },
      body,
    });
  }

  function send(agent: string, chatId: string, text: string, options: { body?: Record<string, unknown>; signal?: AbortSignal } = {}) {
    return transport(agent, 'alice', options.body).sendMessages({
      chatId,
      messages: [userMessage(text)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: options.signal,
      body: undefined,
    });
  }

  async function runStatus(runId: string): Promise<string> {
    return (await alice.get(`/runs/${runId}`)).body.status;
  }

  beforeAll(async () => {
    t = await startTestApp({ SSE_KEEPALIVE_MS: '100' });
    alice = new HttpClient(t.url, t.token('alice'));
  });
  afterAll(() => t.close());

  it('answers an echo chat with one assistant message holding the exact text, the run id as id and metadata', async () => {
    const chatId = `chat-${randomUUID()}`;
    const text = 'Hello, "world" ✓\nsecond line';
    const { message, messageIds, errors } = await readAll(await send('echo', chatId, text));
    expect(errors).toEqual([]);
    expect(messageIds).toHaveLength(1);
    expect(message.role).toBe('assistant');
    expect(textOf(message)).toBe(text);
    expect(message.parts.filter((p) => p.type === 'text')).toHaveLength(1);
    expect(reasoningOf(message)).toEqual(['Echoing the text back']);
    const runId = message.metadata!.runId;
    expect(message.id).toBe(runId);
    expect(message.metadata).toEqual({ runId, threadId: chatId, agent: 'echo', status: 'completed' });
    // The run is an ordinary run of the caller, on the chat's thread.
    expect((await alice.get(`/runs/${runId}`)).body).toMatchObject({
      threadId: chatId,
      agent: 'echo',
      status: 'completed',
      input: { text },
    });
  });

  it('speaks protocol v1 on the wire: the header, SSE data frames, [DONE] last', async () => {
    const res = await fetch(`${t.url}/ai-sdk/agents/echo/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t.token('alice')}` },
      body: JSON.stringify({ id: `chat-${randomUUID()}`, messages: [userMessage('wire')], trigger: 'submit-message' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = (await res.text()).split('\n\n').filter((f) => f.startsWith('data: '));
    expect(frames[frames.length - 1]).toBe('data: [DONE]');
    const types = frames.slice(0, -1).map((f) => (JSON.parse(f.slice('data: '.length)) as { type: string }).type);
    expect(types).toEqual([
      'start',
      'start-step',
      'reasoning-start',
      'reasoning-delta',
      'reasoning-end',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ]);
  });

  /** Every state the tool part `tool-perform` goes through in a stream, and the message at the end. */
  async function toolStates(stream: ReadableStream<UIMessageChunk>): Promise<{ states: string[]; message: ChatMessage }> {
    const states: string[] = [];
    let message: ChatMessage | undefined;
    for await (const state of readUIMessageStream<ChatMessage>({ stream })) {
      const part = state.parts.find((p) => p.type === 'tool-perform') as { state: string } | undefined;
      if (part && states[states.length - 1] !== part.state) states.push(part.state);
      message = state;
    }
    return { states, message: message! };
  }

  describe.each([
    ['approved', true, 'output-available'],
    ['denied', false, 'output-denied'],
  ])(
    'asks for approval with the AI SDK tool approval parts (%s over the interrupt route)',
    (_name, approved: boolean, _finalState: string) => {
      it('pauses the message at the approval request (also when resumed), and the run goes on once answered', async () => {
        const chatId = `chat-${randomUUID()}`;
        const paused = await toolStates(await send('approval', chatId, 'deploy?', { body: { input: { action: 'deploy' } } }));
        // As the SDK's own approval flow: the message finishes, waiting for the answer.
        expect(paused.states).toEqual(['input-available', 'approval-requested']);
        const runId = paused.message.metadata!.runId;
        expect(paused.message.metadata).toMatchObject({ runId, status: 'waiting' });
        const approvalId = (paused.message.parts.find((p) => p.type === 'tool-perform') as { approval: { id: string } }).approval.id;
        const waiting = (await alice.get(`/runs/${runId}`)).body as { status: string; interrupt: { interruptId: string } };
        expect(waiting).toMatchObject({ status: 'waiting', interrupt: { interruptId: approvalId } });

        // Resumed while still waiting: the same paused message again.
        const again = await transport('approval').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined });
        expect((await toolStates(again!)).states).toEqual(['input-available', 'approval-requested']);

        expect((await alice.post(`/runs/${runId}/interrupts/${approvalId}`, { approved })).status).toBe(200);
        let run: { status: string; result?: unknown } = { status: 'waiting' };
        for (const deadline = Date.now() + 5000; run.status !== 'completed' && Date.now() < deadline;)
          run = (await alice.get(`/runs/${runId}`)).body;
        expect(run).toMatchObject({ status: 'completed', result: approved ? 'performed deploy' : 'declined' });
        // Its stored events hold the outcome the tool part takes: the call ran, or was never made.
        const { events } = (await alice.get(`/runs/${runId}/events`)).body as { events: { type: string }[] };
        expect(events.some((e) => e.type === 'tool_completed')).toBe(approved);
        // Nothing in flight on the chat any more.
        expect(
          await transport('approval').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined }),
        ).toBeNull();
      });
    },
  );

  it("answers addToolApprovalResponse (the SDK's own approval flow): the same message goes on and completes", async () => {
    const chatId = `chat-${randomUUID()}`;
    const chat = new PlainChat<ChatMessage>({
      id: chatId,
      transport: transport('approval', 'alice', { input: { action: 'ship' } }),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });
    await chat.sendMessage({ text: 'ship it?' });
    const asked = chat.lastMessage!;
    const part = asked.parts.find((p) => p.type === 'tool-perform') as { state: string; approval: { id: string } };
    expect(part.state).toBe('approval-requested');
    expect(chat.status).toBe('ready');

    await chat.addToolApprovalResponse({ id: part.approval.id, approved: true });
    await waitFor(
      () =>
        chat.status === 'ready' &&
        (chat.lastMessage!.parts.find((p) => p.type === 'tool-perform') as { state: string }).state === 'output-available',
      'the approved call to complete in the same message',
    );
    expect(chat.error).toBeUndefined();
    // One user message, one assistant message: the answer continued it.
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const done = chat.lastMessage!;
    expect(done.id).toBe(asked.id);
    expect(done.parts.find((p) => p.type === 'tool-perform')).toMatchObject({
      state: 'output-available',
      input: { action: 'ship' },
      output: 'performed ship',
    });
    expect(done.metadata).toMatchObject({ runId: asked.id, status: 'completed' });
    expect(await runStatus(asked.id)).toBe('completed');

    // The question is closed: answering it again through the chat is refused before any stream.
    const res = await fetch(`${t.url}/ai-sdk/agents/approval/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token('alice')}` },
      body: JSON.stringify({
        id: chatId,
        trigger: 'submit-message',
        messageId: asked.id,
        messages: [
          chat.messages[0],
          {
            ...asked,
            parts: asked.parts.map((p) =>
              p.type === 'tool-perform' ? { ...p, state: 'approval-responded', approval: { id: part.approval.id, approved: true } } : p,
            ),
          },
        ],
      }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'INTERRUPT_RESOLVED' });
  });

  it('runs the body field input when sent: the calculator yields a tool part with its input and output', async () => {
    const { message, errors } = await readAll(
      await send('calculator', `chat-${randomUUID()}`, 'what is 2 + 3 × 4?', { body: { input: { expression: '2 + 3 × 4' } } }),
    );
    expect(errors).toEqual([]);
    const tools = message.parts.filter((p) => p.type === 'tool-calculate');
    expect(tools).toEqual([
      expect.objectContaining({ type: 'tool-calculate', state: 'output-available', input: { expression: '2 + 3 × 4' }, output: 14 }),
    ]);
    expect(message.metadata).toMatchObject({ status: 'completed' });
  });

  it('shows a failing tool as output-error and the failed run as an error with its code and message', async () => {
    const { message, errors } = await readAll(
      await send('calculator', `chat-${randomUUID()}`, 'bad', { body: { input: { expression: '2 +' } } }),
    );
    expect(message.parts.filter((p) => p.type === 'tool-calculate')).toEqual([
      expect.objectContaining({ state: 'output-error', input: { expression: '2 +' }, errorText: expect.any(String) }),
    ]);
    expect(errors).toEqual([expect.stringMatching(/^AGENT_FAILED: The expression could not be calculated/)]);
  });

  it('ends a failed run with an error part carrying the code and the message', async () => {
    const { message, errors } = await readAll(
      await send('failing', `chat-${randomUUID()}`, 'fail please', { body: { input: { message: 'Nope, on purpose' } } }),
    );
    expect(errors).toEqual(['AGENT_FAILED: Nope, on purpose']);
    expect(message.metadata).toMatchObject({ status: 'failed', error: { code: 'AGENT_FAILED', message: 'Nope, on purpose' } });
  });

  it('resumes a stream the client cut off mid-run: the whole message exactly once, and the run was not cancelled', async () => {
    const chatId = `chat-${randomUUID()}`;
    const steps = 6;
    const abort = new AbortController();
    const live = await send('countdown', chatId, 'count', { body: { input: { steps, intervalMs: 120 } }, signal: abort.signal });
    const partial = await readAll(live, (m) => reasoningOf(m).length >= 2);
    abort.abort();
    const runId = partial.message.metadata!.runId;
    expect(reasoningOf(partial.message).length).toBeLessThan(steps);
    expect(await runStatus(runId)).toBe('running');

    const resumed = await transport('countdown').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined });
    expect(resumed).not.toBeNull();
    const { message, messageIds, errors } = await readAll(resumed!);
    expect(errors).toEqual([]);
    expect(messageIds).toEqual([runId]);
    expect(reasoningOf(message)).toEqual(Array.from({ length: steps }, (_, i) => `Step ${i + 1} of ${steps}`));
    expect(message.parts.filter((p) => p.type === 'step-start')).toHaveLength(1);
    expect(message.metadata).toMatchObject({ runId, status: 'completed' });
    expect(await runStatus(runId)).toBe('completed');
  });

  it("through the AI SDK's chat: stop() leaves the run going, resumeStream() shows its whole message once", async () => {
    const chatId = `chat-${randomUUID()}`;
    const steps = 5;
    const chat = new PlainChat<ChatMessage>({
      id: chatId,
      transport: transport('countdown', 'alice', { input: { steps, intervalMs: 120 } }),
    });
    const sending = chat.sendMessage({ text: 'count' });
    await waitFor(() => chat.lastMessage?.role === 'assistant' && reasoningOf(chat.lastMessage).length >= 2, 'two thoughts');
    await chat.stop();
    await sending;
    const runId = chat.lastMessage!.metadata!.runId;
    expect(reasoningOf(chat.lastMessage!).length).toBeLessThan(steps);
    expect(await runStatus(runId)).toBe('running');

    await chat.resumeStream();
    expect(chat.error).toBeUndefined();
    expect(chat.status).toBe('ready');
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(chat.lastMessage!.id).toBe(runId);
    expect(reasoningOf(chat.lastMessage!)).toEqual(Array.from({ length: steps }, (_, i) => `Step ${i + 1} of ${steps}`));
    expect(chat.lastMessage!.metadata).toMatchObject({ runId, status: 'completed' });

    // A reload: a new chat holding only what was saved (the user message) picks the same chat up; idle now, so 204.
    const reloaded = new PlainChat<ChatMessage>({ id: chatId, transport: transport('countdown'), messages: [chat.messages[0]] });
    await reloaded.resumeStream();
    expect(reloaded.error).toBeUndefined();
    expect(reloaded.messages).toHaveLength(1);
  });

  it("through the AI SDK's chat: a failed run sets the chat's error to the code and message", async () => {
    const chat = new PlainChat<ChatMessage>({
      id: `chat-${randomUUID()}`,
      transport: transport('failing', 'alice', { input: { message: 'Broken on purpose' } }),
    });
    await chat.sendMessage({ text: 'go' });
    expect(chat.status).toBe('error');
    expect(chat.error?.message).toBe('AGENT_FAILED: Broken on purpose');
  });

  it('answers resume with 204 (null to the transport) when the chat has no run in flight', async () => {
    const chatId = `chat-${randomUUID()}`;
    await readAll(await send('echo', chatId, 'done already'));
    expect(await transport('echo').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined })).toBeNull();
    const raw = await alice.get(`/ai-sdk/agents/echo/chat/${chatId}/stream`);
    expect(raw.status).toBe(204);
  });

  it('stops a run through the cancel route: the live stream and a resumed one both finish as cancelled', async () => {
    const chatId = `chat-${randomUUID()}`;
    const live = await send('countdown', chatId, 'count', { body: { input: { steps: 1000, intervalMs: 50 } } });
    const reader = readUIMessageStream<ChatMessage>({ stream: live });
    let runId: string | undefined;
    let liveLast: ChatMessage | undefined;
    const liveDone = (async () => {
      for await (const state of reader) {
        liveLast = state;
        runId = state.metadata?.runId;
      }
    })();
    await waitFor(() => runId !== undefined, 'the run id in the message metadata');
    const resumedStream = await transport('countdown').reconnectToStream({
      chatId,
      body: undefined,
      headers: undefined,
      metadata: undefined,
    });
    expect(resumedStream).not.toBeNull();
    const resumedDone = readAll(resumedStream!);

    const cancel = await alice.post(`/runs/${runId}/cancel`);
    expect(cancel.status).toBe(202);
    await liveDone;
    const resumed = await resumedDone;
    for (const message of [liveLast!, resumed.message]) {
      expect(message.id).toBe(runId);
      expect(message.metadata).toMatchObject({ runId, status: 'cancelled', reason: 'user' });
    }
    expect(reasoningOf(resumed.message)).toEqual(reasoningOf(liveLast!));
    expect(await runStatus(runId!)).toBe('cancelled');
  });

  it("queues a message sent while the chat's answer runs (enqueue): its stream waits its turn, resume shows it; reject is 409", async () => {
    const chatId = `chat-${randomUUID()}`;
    const first = await readAll(
      await send('countdown', chatId, 'count', { body: { input: { steps: 1000, intervalMs: 50 } } }),
      (m) => m.metadata?.runId !== undefined,
    );
    const firstRunId = first.message.metadata!.runId;
    const second = readAll(await send('echo', chatId, 'after you', { body: { multitask: 'enqueue' } }));
    await expect(send('echo', chatId, 'now!', { body: { multitask: 'reject' } })).rejects.toThrow(/THREAD_BUSY/);
    const resumedStream = await transport('echo').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined });
    expect(resumedStream).not.toBeNull();
    const resumed = readAll(resumedStream!);

    expect((await alice.post(`/runs/${firstRunId}/cancel`)).status).toBe(202);
    for (const read of [await second, await resumed]) {
      expect(read.errors).toEqual([]);
      expect(read.messageIds).toHaveLength(1);
      expect(read.message.id).not.toBe(firstRunId);
      expect(textOf(read.message)).toBe('after you');
      expect(read.message.metadata).toMatchObject({ threadId: chatId, agent: 'echo', status: 'completed' });
    }
    expect((await second).message.id).toBe((await resumed).message.id);
  });

  it("answers another user's resume with 404, even while the chat's run is in flight", async () => {
    const chatId = `chat-${randomUUID()}`;
    const abort = new AbortController();
    const live = await send('countdown', chatId, 'count', { body: { input: { steps: 1000, intervalMs: 50 } }, signal: abort.signal });
    const { message } = await readAll(live, (m) => m.metadata?.runId !== undefined);
    abort.abort();
    const runId = message.metadata!.runId;
    try {
      await expect(
        transport('countdown', 'bob').reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined }),
      ).rejects.toThrow(/THREAD_NOT_FOUND/);
      const raw = await alice.as(t.token('bob')).get(`/ai-sdk/agents/countdown/chat/${chatId}/stream`);
      expect(raw.status).toBe(404);
      expect(raw.body).toMatchObject({ statusCode: 404, code: 'THREAD_NOT_FOUND' });
      // The owner still resumes it.
      expect((await alice.stream(`/ai-sdk/agents/countdown/chat/${chatId}/stream`)).status).toBe(200);
    } finally {
      await alice.post(`/runs/${runId}/cancel`);
    }
  });

  it('refuses a bad body with 400 VALIDATION_FAILED before any stream, and an unknown agent with 404', async () => {
    const chat = (body: unknown, agent = 'echo') => alice.post(`/ai-sdk/agents/${agent}/chat`, body);
    const good = { id: 'chat-bad', messages: [userMessage('x')], trigger: 'submit-message' };
    const bad: unknown[] = [
      { ...good, messages: 'hello' },
      { ...good, messages: [] },
      { ...good, messages: [{ id: 'm', role: 'user', parts: [{ type: 'text' }] }] },
      { ...good, messages: [{ id: 'm', role: 'robot', parts: [] }] },
      { ...good, id: 'has spaces' },
      { ...good, id: undefined },
      { ...good, trigger: 'explode' },
      // No user text and no input: nothing to run.
      { ...good, messages: [{ id: 'm', role: 'user', parts: [{ type: 'file', mediaType: 'image/png', url: 'data:,' }] }] },
      // The input goes through the agent's own validation.
      { ...good, input: { text: 42 } },
    ];
    for (const body of bad) {
      const res = await chat(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.body).toEqual({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        ...(res.body.details ? { details: res.body.details } : {}),
      });
    }
    const unknown = await chat(good, 'nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, code: 'UNKNOWN_AGENT' });
    // The transport surfaces the error body; no run was started for any of them.
    await expect(send('nobody', 'chat-bad', 'x')).rejects.toThrow(/UNKNOWN_AGENT/);
    expect(
      (await alice.get('/runs?threadId=chat-bad&limit=10')).body.runs.filter((r: { threadId: string }) => r.threadId === 'chat-bad'),
    ).toEqual([]);
    expect((await alice.as(undefined).post('/ai-sdk/agents/echo/chat', good)).status).toBe(401);
  });

  it("refuses a chat over the caller's limits like POST /runs: 429 TOO_MANY_RUNS, as a JSON error", async () => {
    const carol = alice.as(t.token('carol'));
    const busy: string[] = [];
    try {
      // Up to the limit (MAX_CONCURRENT_RUNS_PER_USER), whatever it is set to.
      for (let i = 0; i < 50; i++) {
        const started = await carol.post('/runs', { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } });
        if (started.status !== 202) break;
        busy.push(started.body.runId);
      }
      const res = await carol.post('/ai-sdk/agents/echo/chat', {
        id: 'chat-full',
        messages: [userMessage('x')],
        trigger: 'submit-message',
      });
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_RUNS' });
    } finally {
      for (const runId of busy) await carol.post(`/runs/${runId}/cancel`);
    }
    expect(busy.length).toBeGreaterThan(0);
  });

  it('documents both routes in OpenAPI, with their stream, 204 and error answers', async () => {
    const doc = (await alice.get('/docs-json')).body;
    const chat = doc.paths['/ai-sdk/agents/{agent}/chat'].post;
    const resume = doc.paths['/ai-sdk/agents/{agent}/chat/{chatId}/stream'].get;
    expect(Object.keys(chat.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '413', '429', '503']));
    expect(chat.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(chat.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/AiSdkChatRequestDto' });
    expect(doc.components.schemas.AiSdkChatRequestDto.required).toEqual(expect.arrayContaining(['id', 'messages']));
    expect(Object.keys(resume.responses)).toEqual(expect.arrayContaining(['200', '204', '401', '404']));
    expect(resume.responses['404'].description).toContain('THREAD_NOT_FOUND');
    for (const op of [chat, resume]) expect(op.security).toEqual([{ bearer: [] }]);
  });
});

describe('AI SDK useChat with the assistant (fake LLM)', () => {
  let server: FakeLlmServer;
  let t: TestApp;

  beforeAll(async () => {
    server = await FakeLlmServer.start();
    t = await startTestApp({
      LLM_BASE_URL: server.baseUrl,
      LLM_API_KEY: 'sk-test',
      LLM_MODEL: 'test-model',
      LLM_MAX_STEPS: '3',
      LLM_MAX_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it('streams the answer as text and the tool call as a tool part', async () => {
    server.enqueue(
      toolCallReply([{ id: 'call_1', name: 'calculate', argumentParts: ['{"expression":', '"6 × 7"}'] }]),
      textReply(['The answer ', 'is 42.']),
    );
    const stream = await new DefaultChatTransport<ChatMessage>({
      api: `${t.url}/ai-sdk/agents/assistant/chat`,
      headers: { Authorization: `Bearer ${t.token('alice')}` },
    }).sendMessages({
      chatId: `chat-${randomUUID()}`,
      messages: [userMessage('What is 6 × 7?')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    const { message, errors } = await readAll(stream);
    expect(errors).toEqual([]);
    const kinds = message.parts.map((p) => p.type).filter((type) => type !== 'reasoning');
    expect(kinds).toEqual(['step-start', 'tool-calculate', 'text']);
    expect(message.parts.find((p) => p.type === 'tool-calculate')).toMatchObject({
      toolCallId: 'call_1',
      state: 'output-available',
      input: { expression: '6 × 7' },
      output: 42,
    });
    expect(textOf(message)).toBe('The answer is 42.');
    // The user's text reached the model as the run's input.
    expect(server.requests[0].body.messages).toContainEqual({ role: 'user', content: 'What is 6 × 7?' });
  });
});

describeCluster('AI SDK useChat across two nodes', () => {
  jest.setTimeout(60_000);
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const user = `ada-${uniqueSuffix()}`;

  beforeAll(async () => {
    nodes = await startTwoNodes('aisdk', { RUN_LEASE_MS: '1500', SHUTDOWN_GRACE_MS: '200', SSE_KEEPALIVE_MS: '200' });
    ({ a, b } = nodes);
  });
  afterAll(async () => nodes?.stop());

  const transportOn = (node: ServerProcess, body?: Record<string, unknown>) =>
    new DefaultChatTransport<ChatMessage>({
      api: `${node.url}/ai-sdk/agents/countdown/chat`,
      headers: { Authorization: `Bearer ${node.token(user)}` },
      body,
    });

  it('resumes on node A, and stops from node A, a chat whose run executes on node B', async () => {
    const chatId = `chat-${randomUUID()}`;
    const live = await transportOn(b, { input: { steps: 1000, intervalMs: 50 } }).sendMessages({
      chatId,
      messages: [userMessage('count')],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    let runId: string | undefined;
    let liveLast: ChatMessage | undefined;
    const liveDone = (async () => {
      for await (const state of readUIMessageStream<ChatMessage>({ stream: live })) {
        liveLast = state;
        runId = state.metadata?.runId;
      }
    })();
    await waitFor(() => runId !== undefined && reasoningOf(liveLast!).length >= 3, 'three thoughts on B');

    const resumedStream = await transportOn(a).reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined });
    expect(resumedStream).not.toBeNull();
    const resumedDone = readAll(resumedStream!);
    const cancel = await fetch(`${a.url}/runs/${runId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${a.token(user)}` } });
    expect(cancel.status).toBe(202);

    await liveDone;
    const resumed = await resumedDone;
    expect(resumed.messageIds).toEqual([runId]);
    for (const message of [liveLast!, resumed.message]) expect(message.metadata).toMatchObject({ runId, status: 'cancelled' });
    const thoughts = reasoningOf(resumed.message);
    expect(thoughts).toEqual(thoughts.map((_, i) => `Step ${i + 1} of 1000`));
    expect(thoughts).toEqual(reasoningOf(liveLast!));
    // Idle now, from either node.
    for (const node of [a, b]) {
      expect(await transportOn(node).reconnectToStream({ chatId, body: undefined, headers: undefined, metadata: undefined })).toBeNull();
    }
  });
});
