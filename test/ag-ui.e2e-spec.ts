import { HttpAgent, runHttpRequest, transformHttpEventStream, verifyEvents } from '@ag-ui/client';
import type { BaseEvent, Message, RunFinishedEvent, RunStartedEvent } from '@ag-ui/core';
import { randomUUID } from 'node:crypto';
import { from } from 'rxjs';
import { FakeLlmServer, textReply, toolCallReply } from '@agent-pipeline/llm/testing';
import { HttpClient } from './support/http-client';
import { ofRun, recordEvents, startTestApp, waitFor, waitForTerminal, type TestApp } from './support/test-app';

/** What one `HttpAgent.runAgent()` gave: its events (after the client's own checks), result and new messages. */
interface AgentRun {
  events: BaseEvent[];
  result: unknown;
  newMessages: Message[];
  /** Our run id, from `X-Run-Id`. */
  runId: string;
  finished?: { outcome: string };
  error?: Error;
}

/**
 * A fetch for `HttpAgent` that hands the answer on unchanged, remembers the `id:` of the last whole
 * SSE frame (as an EventSource would) and, when `cutAfter` says so, breaks the connection after that frame.
 */
function recordingFetch(cutAfter?: (frame: string) => boolean) {
  const state: { runId?: string; lastEventId?: string; cut: boolean } = { cut: false };
  const fetchFn = async (url: string, init: RequestInit): Promise<Response> => {
    const res = await fetch(url, init);
    state.runId = res.headers.get('x-run-id') ?? undefined;
    if (!res.body) return res;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    let buffer = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (state.cut) {
          // The frames before the cut were read by now; then the connection ends, mid-run.
          controller.close();
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        buffer += decoder.decode(value, { stream: true });
        const frames = buffer.split('\n\n');
        buffer = frames.pop() ?? '';
        for (const frame of frames) {
          controller.enqueue(encoder.encode(`${frame}\n\n`));
          const id = /^id: (.*)$/m.exec(frame)?.[1];
          if (id !== undefined) state.lastEventId = id;
          if (cutAfter?.(frame)) {
            state.cut = true;
            await reader.cancel();
            return;
          }
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetchFn, state };
}

/** Everything an observable (of the client's own RxJS copy) emits, once it completes. */
function collect<T>(source: {
  subscribe(observer: { next(v: T): void; error(e: unknown): void; complete(): void }): unknown;
}): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    source.subscribe({ next: (v) => out.push(v), error: reject, complete: () => resolve(out) });
  });
}

/** AG-UI events of a GET route, read with the official client's HTTP parser. */
function readAgUi(url: string, headers: Record<string, string>): Promise<BaseEvent[]> {
  return collect(transformHttpEventStream(runHttpRequest(() => fetch(url, { headers }))));
}

/** Runs events through the official client's protocol verifier; rejects when they break the protocol. */
function verified(events: BaseEvent[]): Promise<BaseEvent[]> {
  return collect(verifyEvents()(from(events) as unknown as Parameters<ReturnType<typeof verifyEvents>>[0]));
}

const types = (events: BaseEvent[]): string[] => events.map((e) => e.type as string);

describe('AG-UI (POST /ag-ui/agents/:agent, GET /ag-ui/runs/:runId/stream) with the official HttpAgent', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let alice: HttpClient;

  beforeAll(async () => {
    process.env.SUPPRESS_TRANSFORMATION_WARNINGS = 'true';
    llm = await FakeLlmServer.start();
    t = await startTestApp({
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test',
      LLM_MODEL: 'test-model',
      LLM_MAX_STEPS: '3',
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '120000',
    });
    alice = new HttpClient(t.url, t.token('alice'));
  });
  afterAll(async () => {
    await t?.close();
    await llm?.close();
  });
  beforeEach(() => llm.reset());

  /** One `runAgent()` of the real HttpAgent against the real app. */
  async function runAgent(
    agent: string,
    options: {
      user?: string;
      threadId?: string;
      runId?: string;
      text?: string;
      forwardedProps?: Record<string, unknown>;
      onEvent?: (event: BaseEvent) => void;
      cutAfter?: (frame: string) => boolean;
    } = {},
  ): Promise<AgentRun & { lastEventId?: string }> {
    const { fetchFn, state } = recordingFetch(options.cutAfter);
    const client = new HttpAgent({
      url: `${t.url}/ag-ui/agents/${agent}`,
      headers: { Authorization: `Bearer ${t.token(options.user ?? 'alice')}` },
      threadId: options.threadId ?? randomUUID(),
      initialMessages: options.text !== undefined ? [{ id: randomUUID(), role: 'user', content: options.text }] : [],
      fetch: fetchFn,
    });
    const events: BaseEvent[] = [];
    let finished: { outcome: string } | undefined;
    let result: unknown;
    let newMessages: Message[] = [];
    let error: Error | undefined;
    try {
      ({ result, newMessages } = await client.runAgent(
        { runId: options.runId, forwardedProps: options.forwardedProps },
        {
          onEvent: ({ event }) => {
            events.push(event);
            options.onEvent?.(event);
          },
          onRunFinishedEvent: (params) => {
            finished = { outcome: params.outcome };
          },
        },
      ));
    } catch (err) {
      error = err as Error;
    }
    return { events, result, newMessages, runId: state.runId!, finished, error, lastEventId: state.lastEventId };
  }

  describe.each([
    ['approved', { status: 'resolved' as const, payload: { approved: true } }, 'performed deploy'],
    ['denied (status cancelled)', { status: 'cancelled' as const }, 'declined'],
  ])('a run that asks its user (%s)', (_name, entry, result) => {
    it('ends the AG-UI run with the interrupt outcome; runAgent({ resume }) answers and streams the rest of the same run', async () => {
      const { fetchFn, state } = recordingFetch();
      const client = new HttpAgent({
        url: `${t.url}/ag-ui/agents/approval`,
        headers: { Authorization: `Bearer ${t.token('alice')}` },
        threadId: randomUUID(),
        initialMessages: [],
        fetch: fetchFn,
      });
      const first: BaseEvent[] = [];
      await client.runAgent(
        { runId: 'asks-1', forwardedProps: { input: { action: 'deploy' } } },
        { onEvent: ({ event }) => void first.push(event) },
      );
      const ours = state.runId!;
      const finished = first[first.length - 1] as RunFinishedEvent & { outcome: { type: string; interrupts: { id: string }[] } };
      expect(types(first)[0]).toBe('RUN_STARTED');
      expect(finished).toMatchObject({
        type: 'RUN_FINISHED',
        runId: 'asks-1',
        outcome: {
          type: 'interrupt',
          interrupts: [{ reason: 'approval', message: 'Approve: deploy?', metadata: { tool: 'perform', args: { action: 'deploy' } } }],
        },
      });
      // The AG-UI run ended; ours waits for its user.
      const waiting = (await alice.get(`/runs/${ours}`)).body as { status: string; interrupt: { interruptId: string } };
      expect(waiting.status).toBe('waiting');
      const interruptId = finished.outcome.interrupts[0].id;
      expect(interruptId).toBe(waiting.interrupt.interruptId);

      const second: BaseEvent[] = [];
      const answered = await client.runAgent(
        { runId: 'answers-1', resume: [{ interruptId, ...entry }] },
        { onEvent: ({ event }) => void second.push(event) },
      );
      // The rest of the same run, under the answering request's run id.
      expect(state.runId).toBe(ours);
      expect(second[0]).toMatchObject({ type: 'RUN_STARTED', runId: 'answers-1' });
      expect(second[second.length - 1]).toMatchObject({ type: 'RUN_FINISHED', runId: 'answers-1', result, outcome: { type: 'success' } });
      expect(types(second).filter((type) => type.startsWith('TOOL_CALL'))).toEqual(
        result === 'declined' ? [] : ['TOOL_CALL_START', 'TOOL_CALL_ARGS', 'TOOL_CALL_END', 'TOOL_CALL_RESULT'],
      );
      expect(answered.result).toBe(result);
      expect((await alice.get(`/runs/${ours}`)).body.status).toBe('completed');

      // The question is closed: answering it again is refused before any stream.
      const again = await fetch(`${t.url}/ag-ui/agents/approval`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token('alice')}` },
        body: JSON.stringify({
          threadId: client.threadId,
          runId: 'again',
          messages: [],
          tools: [],
          context: [],
          state: {},
          forwardedProps: {},
          resume: [{ interruptId, status: 'resolved', payload: { approved: true } }],
        }),
      });
      expect(again.status).toBe(409);
      expect(await again.json()).toMatchObject({ code: 'INTERRUPT_RESOLVED' });
    });
  });

  it('echo: RUN_STARTED for the request, one text message with the exact text, RUN_FINISHED with the result', async () => {
    const socket = await t.connect('alice');
    const envelopes = recordEvents(socket);
    const threadId = randomUUID();
    const run = await runAgent('echo', { threadId, runId: 'client-run-1', text: 'Hello, AG-UI ✓' });

    expect(run.error).toBeUndefined();
    expect(types(run.events)).toEqual([
      'RUN_STARTED',
      'REASONING_START',
      'REASONING_MESSAGE_START',
      'REASONING_MESSAGE_CONTENT',
      'REASONING_MESSAGE_END',
      'REASONING_END',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ]);
    const started = run.events[0] as RunStartedEvent;
    expect(started).toMatchObject({ threadId, runId: 'client-run-1', rawEvent: { runId: run.runId, seq: 1, type: 'agent_started' } });
    expect(run.result).toBe('Hello, AG-UI ✓');
    expect(run.finished).toEqual({ outcome: 'success' });
    const assistant = run.newMessages.filter((m) => m.role === 'assistant');
    expect(assistant).toHaveLength(1);
    expect(assistant[0].content).toBe('Hello, AG-UI ✓');
    expect((run.events.at(-1) as RunFinishedEvent).runId).toBe('client-run-1');

    // An ordinary run of ours on the client's thread: same store, same API.
    const stored = await alice.get(`/runs/${run.runId}`);
    expect(stored.body).toMatchObject({
      runId: run.runId,
      threadId,
      agent: 'echo',
      status: 'completed',
      input: { text: 'Hello, AG-UI ✓' },
    });
    // Its envelopes reached the user's socket too.
    await waitForTerminal(envelopes, run.runId);
    expect(ofRun(envelopes, run.runId).map((e) => e.type)).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_message_delta',
      'agent_completed',
    ]);
  });

  it('calculator: forwardedProps.input as the input, a tool call with JSON args and its result', async () => {
    const run = await runAgent('calculator', { forwardedProps: { input: { expression: '(2 + 3) * 4' } }, text: 'ignored' });

    expect(run.error).toBeUndefined();
    const start = run.events.find((e) => e.type === 'TOOL_CALL_START') as BaseEvent & { toolCallId: string; toolCallName: string };
    expect(start.toolCallName).toBe('calculate');
    const args = run.events.filter((e) => e.type === 'TOOL_CALL_ARGS') as (BaseEvent & { toolCallId: string; delta: string })[];
    expect(args.map((a) => a.toolCallId)).toEqual([start.toolCallId]);
    expect(JSON.parse(args.map((a) => a.delta).join(''))).toEqual({ expression: '(2 + 3) * 4' });
    expect(run.events).toContainEqual(expect.objectContaining({ type: 'TOOL_CALL_END', toolCallId: start.toolCallId }));
    const result = run.events.find((e) => e.type === 'TOOL_CALL_RESULT') as BaseEvent & { toolCallId: string; content: string };
    expect(result.toolCallId).toBe(start.toolCallId);
    expect(JSON.parse(result.content)).toBe(20);
    expect(run.result).toBe(20);
    // The client built the conversation from them: an assistant tool call and its tool message.
    const call = run.newMessages.find((m) => m.role === 'assistant' && m.toolCalls?.length) as Extract<Message, { role: 'assistant' }>;
    expect(call.toolCalls![0]).toMatchObject({ id: start.toolCallId, function: { name: 'calculate' } });
    expect(run.newMessages).toContainEqual(expect.objectContaining({ role: 'tool', toolCallId: start.toolCallId, content: '20' }));
    expect((await alice.get(`/runs/${run.runId}`)).body.input).toEqual({ expression: '(2 + 3) * 4' });
  });

  it('failing: RUN_ERROR with the message and the code', async () => {
    const run = await runAgent('failing', { forwardedProps: { input: { message: 'it broke' } } });

    expect(types(run.events).at(-1)).toBe('RUN_ERROR');
    expect(run.events.at(-1)).toMatchObject({ type: 'RUN_ERROR', message: 'it broke', code: 'AGENT_FAILED' });
    expect(run.events.filter((e) => e.type === 'RUN_FINISHED')).toEqual([]);
    expect((await alice.get(`/runs/${run.runId}`)).body.status).toBe('failed');
  });

  it('a cancelled run ends with RUN_FINISHED and the cancelled outcome', async () => {
    let cancelled: Promise<unknown> | undefined;
    let ourRunId = '';
    const run = await runAgent('countdown', {
      forwardedProps: { input: { steps: 10000, intervalMs: 10 } },
      onEvent: (event) => {
        // Cancelled through the ordinary route, with our run id from RUN_STARTED, once the run is under way.
        if (event.type === 'REASONING_END' && !cancelled) cancelled = alice.post(`/runs/${ourRunId}/cancel`);
        if (event.type === 'RUN_STARTED') ourRunId = ((event as RunStartedEvent).rawEvent as { runId: string }).runId;
      },
    });

    expect(run.error).toBeUndefined();
    expect((await cancelled) as { status: number }).toMatchObject({ status: 202 });
    expect(run.finished).toEqual({ outcome: 'cancelled' });
    expect(run.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', outcome: { type: 'cancelled' } });
    expect(run.result).toBeUndefined();
    expect((await alice.get(`/runs/${run.runId}`)).body.status).toBe('cancelled');
  });

  it('assistant: streamed text over several deltas as one message, and the token usage in RUN_FINISHED', async () => {
    llm.enqueue(textReply(['Hel', 'lo, ', 'world!'], { usage: [12, 4], beforePart: () => new Promise((r) => setTimeout(r, 30)) }));
    const run = await runAgent('assistant', { text: 'Say hello' });

    expect(run.error).toBeUndefined();
    expect(llm.requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'Say hello' });
    expect(types(run.events).filter((ty) => ty === 'TEXT_MESSAGE_START')).toHaveLength(1);
    expect(run.events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').length).toBeGreaterThanOrEqual(2);
    const assistant = run.newMessages.filter((m) => m.role === 'assistant');
    expect(assistant.map((m) => m.content)).toEqual(['Hello, world!']);
    expect(run.result).toBe('Hello, world!');
    expect(run.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', usage: [{ inputTokens: 12, outputTokens: 4, totalTokens: 16 }] });
  });

  it('assistant: a tool call of the model, its result, then the answer', async () => {
    llm.enqueue(
      toolCallReply([{ id: 'call_ag', name: 'calculate', argumentParts: ['{"expression": ', '"6 * 7"}'] }]),
      textReply(['It is ', '42.']),
    );
    const run = await runAgent('assistant', { text: 'What is 6 * 7?' });

    expect(run.error).toBeUndefined();
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'TOOL_CALL_START', toolCallId: 'call_ag', toolCallName: 'calculate' }),
    );
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'TOOL_CALL_ARGS', toolCallId: 'call_ag', delta: '{"expression":"6 * 7"}' }),
    );
    expect(run.events).toContainEqual(expect.objectContaining({ type: 'TOOL_CALL_RESULT', toolCallId: 'call_ag', content: '42' }));
    const order = types(run.events);
    expect(order.indexOf('TOOL_CALL_RESULT')).toBeLessThan(order.indexOf('TEXT_MESSAGE_START'));
    expect(run.result).toBe('It is 42.');
  });

  it("keeps conversation memory on the server: the client's message history is not fed to the agent", async () => {
    llm.enqueue(textReply(['Hi Ann.']), textReply(['You are Ann.']));
    const client = new HttpAgent({
      url: `${t.url}/ag-ui/agents/assistant`,
      headers: { Authorization: `Bearer ${t.token('alice')}` },
      threadId: randomUUID(),
    });
    client.addMessage({ id: randomUUID(), role: 'user', content: 'I am Ann.' });
    expect((await client.runAgent()).result).toBe('Hi Ann.');
    // The client makes up history of its own; the agent does not see it.
    client.addMessage({ id: randomUUID(), role: 'assistant', content: 'INVENTED BY THE CLIENT' });
    client.addMessage({ id: randomUUID(), role: 'user', content: 'Who am I?' });
    expect((await client.runAgent()).result).toBe('You are Ann.');

    const sent = llm.requests[1].body.messages as { role: string; content: string }[];
    expect(sent).toContainEqual({ role: 'user', content: 'I am Ann.' });
    expect(sent).toContainEqual(expect.objectContaining({ role: 'assistant', content: 'Hi Ann.' }));
    expect(JSON.stringify(sent)).not.toContain('INVENTED');
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'Who am I?' });
  });

  it('answers a bad RunAgentInput with 400 VALIDATION_FAILED before any stream, and an unknown agent with 404', async () => {
    const noRunId = await alice.post('/ag-ui/agents/echo', { threadId: 't', messages: [] });
    expect(noRunId.status).toBe(400);
    expect(noRunId.headers.get('content-type')).toMatch(/^application\/json/);
    expect(noRunId.body).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      details: { fields: expect.arrayContaining([expect.objectContaining({ field: 'runId' })]) },
    });

    const badMessage = await alice.post('/ag-ui/agents/echo', {
      threadId: 't',
      runId: 'r',
      messages: [{ id: 1, role: 'user', content: 'x' }],
    });
    expect(badMessage).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });

    const notAnObject = await alice.postRaw('/ag-ui/agents/echo', '[1, 2]');
    expect(notAnObject).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });

    const unknown = await alice.post('/ag-ui/agents/nope', {
      threadId: 't',
      runId: 'r',
      messages: [{ id: 'm', role: 'user', content: 'x' }],
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'UNKNOWN_AGENT' } });

    // The agent's own input validation, as for any run.
    const badInput = await alice.post('/ag-ui/agents/calculator', {
      threadId: 't',
      runId: 'r',
      messages: [],
      forwardedProps: { input: { expression: 5 } },
    });
    expect(badInput).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });

    // An answer to no question, or an answer that says nothing.
    const resume = await alice.post('/ag-ui/agents/echo', {
      threadId: `no-question-${randomUUID()}`,
      runId: 'r',
      messages: [{ id: 'm', role: 'user', content: 'x' }],
      resume: [{ interruptId: 'i', status: 'resolved', payload: { approved: true } }],
    });
    expect(resume).toMatchObject({ status: 404, body: { code: 'INTERRUPT_NOT_FOUND' } });
    const saysNothing = await alice.post('/ag-ui/agents/echo', {
      threadId: 't',
      runId: 'r',
      messages: [],
      resume: [{ interruptId: 'i', status: 'resolved', payload: { ok: true } }],
    });
    expect(saysNothing).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'resume.0.payload' }] } },
    });

    // And the official client sees a failed request, not a stream.
    const viaClient = await runAgent('nope', { text: 'hi' });
    expect(viaClient.events).toEqual([]);
    expect(viaClient.error?.message).toMatch(/404/);

    // Nothing was started for any of them.
    expect((await alice.get('/runs')).body.runs.filter((r: { threadId: string }) => r.threadId === 't')).toEqual([]);
  });

  it('answers a start over the limits with 429 and the error body, before any stream', async () => {
    const limited = await startTestApp({ MAX_CONCURRENT_RUNS_PER_USER: '1' });
    try {
      const carol = new HttpClient(limited.url, limited.token('carol'));
      const busy = await carol.post('/runs', { agent: 'countdown', input: { steps: 10000, intervalMs: 50 } });
      expect(busy.status).toBe(202);
      const refused = await carol.post('/ag-ui/agents/echo', {
        threadId: 'lim',
        runId: 'r',
        messages: [{ id: 'm', role: 'user', content: 'x' }],
      });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(refused.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_RUNS' });
      await carol.post(`/runs/${busy.body.runId}/cancel`);
    } finally {
      await limited.close();
    }
  });

  it("isolation: another user's token can neither stream nor resume a run (404), nor its own runs see it", async () => {
    const run = await runAgent('echo', { text: 'private' });
    const bob = alice.as(t.token('bob'));
    for (const headers of [{}, { 'Last-Event-ID': '1' }] as Record<string, string>[]) {
      const answer = await bob.get(`/ag-ui/runs/${run.runId}/stream`, headers);
      expect(answer).toMatchObject({ status: 404, body: { code: 'RUN_NOT_FOUND' } });
    }
    expect((await alice.as(undefined).get(`/ag-ui/runs/${run.runId}/stream`)).status).toBe(401);
    // The owner can.
    const own = await readAgUi(`${t.url}/ag-ui/runs/${run.runId}/stream`, { Authorization: `Bearer ${t.token('alice')}` });
    expect(types(own)).toEqual(types(run.events));
  });

  it('documents both routes in the OpenAPI document', async () => {
    const doc = (await alice.as(undefined).get('/docs-json')).body;
    const post = doc.paths['/ag-ui/agents/{agent}'].post;
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(post.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['400', '401', '404', '413', '429', '503']));
    const get = doc.paths['/ag-ui/runs/{runId}/stream'].get;
    expect(get.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['400', '401', '404']));
    expect(get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['runId', 'Last-Event-ID', 'aguiRunId']));
  });

  it('every frame carries id: <seq of the source event>', async () => {
    const run = await runAgent('calculator', { forwardedProps: { input: { expression: '1 + 1' } } });
    const stream = await alice.stream(`/ag-ui/runs/${run.runId}/stream?aguiRunId=x`);
    const { messages } = await stream.readAll();
    const events = (await alice.get(`/runs/${run.runId}/events`)).body.events as { seq: number; type: string }[];
    const seqOf = (type: string) => String(events.find((e) => e.type === type)!.seq);
    const idOf = (type: string) => messages.filter((m) => JSON.parse(m.data).type === type).map((m) => m.id);
    expect(idOf('RUN_STARTED')).toEqual([seqOf('agent_started')]);
    expect(idOf('TOOL_CALL_START')).toEqual([seqOf('tool_executing')]);
    expect(idOf('TOOL_CALL_ARGS')).toEqual([seqOf('tool_executing')]);
    expect(idOf('TOOL_CALL_RESULT')).toEqual([seqOf('tool_completed')]);
    expect(idOf('RUN_FINISHED')).toEqual([seqOf('agent_completed')]);
    expect(messages.map((m) => Number(m.id))).toEqual([...messages.map((m) => Number(m.id))].sort((a, b) => a - b));
    expect(JSON.parse(messages.at(-1)!.data)).toMatchObject({ type: 'RUN_FINISHED', runId: 'x' });
  });

  it('a stream cut mid-message resumes with Last-Event-ID: the whole event sequence exactly once, and the run went on', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The model's answer stops after its first piece until the test lets it go on.
    llm.enqueue(textReply(['First ', 'second ', 'third.'], { usage: [3, 3], beforePart: (i) => (i === 1 ? held : undefined) }));
    const aguiRunId = randomUUID();
    const cut = await runAgent('assistant', {
      text: 'Count',
      runId: aguiRunId,
      cutAfter: (frame) => frame.includes('"TEXT_MESSAGE_CONTENT"'),
    });
    const before = cut.events;
    expect(types(before).at(-1)).toBe('TEXT_MESSAGE_CONTENT');
    expect(cut.lastEventId).toMatch(/^\d+$/);
    // Closing the stream did not cancel the run.
    await new Promise((r) => setTimeout(r, 100));
    expect((await alice.get(`/runs/${cut.runId}`)).body.status).toBe('running');

    const auth = { Authorization: `Bearer ${t.token('alice')}` };
    const resumed = readAgUi(`${t.url}/ag-ui/runs/${cut.runId}/stream?aguiRunId=${aguiRunId}`, {
      ...auth,
      'Last-Event-ID': cut.lastEventId!,
    });
    await waitFor(() => llm.requests.length === 1, 'the model request');
    release();
    const after = await resumed;

    // The open message goes on: no second start, then its end before the run finishes.
    expect(types(after)[0]).toBe('TEXT_MESSAGE_CONTENT');
    expect(types(after).slice(-2)).toEqual(['TEXT_MESSAGE_END', 'RUN_FINISHED']);
    const whole = [...before, ...after];
    // A valid AG-UI run for the official verifier, equal to the uninterrupted stream read afterwards.
    await expect(verified(whole)).resolves.toHaveLength(whole.length);
    const uninterrupted = await readAgUi(`${t.url}/ag-ui/runs/${cut.runId}/stream?aguiRunId=${aguiRunId}`, auth);
    expect(whole).toEqual(uninterrupted);
    const text = whole.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => (e as BaseEvent & { delta: string }).delta);
    expect(text.join('')).toBe('First second third.');
    expect(types(whole).filter((ty) => ty === 'TEXT_MESSAGE_START')).toHaveLength(1);
  });
});
