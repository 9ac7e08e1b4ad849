import { randomBytes } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { FakeLlmServer, textReply, toolCallReply } from '@agent-pipeline/llm/testing';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { ServerTracing } from '../src/observability/tracing/server-tracing.service';
import { HttpClient } from './support/http-client';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';
import { startServerProcess, stopAllServerProcesses, tempDatabase, type ServerProcess } from './support/server-process';
import { command, recordEvents, startTestApp, waitFor, waitForTerminal } from './support/test-app';

/** A fresh W3C trace context, as a caller's tracer would send it. */
function newTraceparent(): { header: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

async function waitForRun(http: HttpClient, runId: string, status = 'completed'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { body } = await http.get(`/runs/${runId}`);
    if (body.status === status) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${body.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The JSON log lines of a server's output. */
function logLines(server: ServerProcess): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('OpenTelemetry traces (OTLP/HTTP JSON to a local receiver)', () => {
  let receiver: OtlpReceiver;
  let llm: FakeLlmServer;
  let server: ServerProcess;
  let db: { url: string; remove(): void };
  let http: HttpClient;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    llm = await FakeLlmServer.start();
    db = tempDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'pipeline-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'test-model',
      LLM_MAX_RETRIES: '0',
    });
    http = new HttpClient(server.url, server.token('alice'));
  });

  afterAll(async () => {
    await stopAllServerProcesses();
    await receiver?.close();
    await llm?.close();
    db?.remove();
  });

  beforeEach(() => llm.reset());

  it('an assistant run with a tool call: invoke_agent, with chat and execute_tool children and their GenAI attributes, in the caller’s trace', async () => {
    llm.enqueue(
      toolCallReply([{ id: 'call_abc', name: 'calculate', argumentParts: ['{"expression": ', '"(2 + 3) * 4"}'] }], { usage: [20, 10] }),
      textReply(['The answer ', 'is 20.'], { usage: [40, 5] }),
    );
    const caller = newTraceparent();
    const started = await http.post(
      '/runs?wait=true',
      { agent: 'assistant', input: { text: 'What is (2 + 3) * 4?' } },
      { headers: { traceparent: caller.header } },
    );
    expect(started.status).toBe(200);
    const { runId, threadId } = started.body;
    expect(started.body.usage).toEqual({ inputTokens: 60, outputTokens: 15 });

    await receiver.waitFor((spans) => spans.some((s) => s.attributes['agent_pipeline.run_id'] === runId), 'the run span');
    const inTrace = receiver.spans.filter((s) => s.traceId === caller.traceId);
    const run = inTrace.find((s) => s.name === 'invoke_agent assistant')!;
    expect(run).toBeDefined();
    expect(run.parentSpanId).toBe(caller.spanId);
    expect(run.service).toBe('pipeline-under-test');
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'assistant',
      'agent_pipeline.run_id': runId,
      'agent_pipeline.thread_id': threadId,
      'agent_pipeline.outcome': 'completed',
      'gen_ai.usage.input_tokens': 60,
      'gen_ai.usage.output_tokens': 15,
    });
    // User ids stay off spans unless OTEL_RECORD_USER_ID=true.
    expect(JSON.stringify(inTrace)).not.toContain('alice');

    const children = inTrace.filter((s) => s.parentSpanId === run.spanId);
    const chats = children.filter((s) => s.name === 'chat test-model');
    expect(chats).toHaveLength(2);
    expect(chats.map((s) => s.attributes)).toEqual([
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'test-model',
        'gen_ai.response.model': 'test-model',
        'gen_ai.usage.input_tokens': 20,
        'gen_ai.usage.output_tokens': 10,
        'gen_ai.response.finish_reasons': ['tool_calls'],
      },
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'test-model',
        'gen_ai.response.model': 'test-model',
        'gen_ai.usage.input_tokens': 40,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.response.finish_reasons': ['stop'],
      },
    ]);
    expect(chats.every((s) => s.kind === 3)).toBe(true); // SPAN_KIND_CLIENT
    const tools = children.filter((s) => s.name === 'execute_tool calculate');
    expect(tools).toHaveLength(1);
    expect(tools[0].attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'calculate',
      'gen_ai.tool.call.id': 'call_abc',
    });
    expect(children).toHaveLength(3);

    // The run's log lines name its trace and span.
    await waitFor(() => logLines(server).some((l) => l.runId === runId && l.outcome === 'completed'), 'the run-ended log line');
    const ended = logLines(server).find((l) => l.runId === runId && l.outcome === 'completed')!;
    expect(ended).toMatchObject({ trace_id: caller.traceId, span_id: run.spanId });
    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType?.includes('application/json'))).toBe(true);
  });

  it('a queued run, started when the run ahead of it ends, continues the trace of the request that queued it', async () => {
    const threadId = `traced-queue-${randomBytes(3).toString('hex')}`;
    const ahead = await http.post('/runs', { agent: 'countdown', input: { steps: 3, intervalMs: 150 }, threadId });
    expect(ahead.body.status).toBe('running');
    const caller = newTraceparent();
    const queued = await http.post(
      '/runs',
      { agent: 'echo', input: { text: 'after you' }, threadId },
      { headers: { traceparent: caller.header } },
    );
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe('queued');
    await waitForRun(http, queued.body.runId);

    await receiver.waitFor(
      (spans) => spans.some((s) => s.attributes['agent_pipeline.run_id'] === queued.body.runId),
      'the queued run span',
    );
    const span = receiver.spans.find((s) => s.attributes['agent_pipeline.run_id'] === queued.body.runId)!;
    expect(span).toMatchObject({ name: 'invoke_agent echo', traceId: caller.traceId, parentSpanId: caller.spanId });
    // The run ahead had no caller trace: it is the root of a trace of its own.
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['agent_pipeline.run_id'] === ahead.body.runId), 'the countdown span');
    const aheadSpan = receiver.spans.find((s) => s.attributes['agent_pipeline.run_id'] === ahead.body.runId)!;
    expect(aheadSpan.traceId).not.toBe(caller.traceId);
    expect(aheadSpan.parentSpanId).toBeUndefined();
  });

  it("run:start's traceparent field; an interrupt asked and answered are events of the run span", async () => {
    const socket = await server.connect('alice');
    const events: AgentEventEnvelope[] = recordEvents(socket);
    const caller = newTraceparent();
    const ack = await command(socket, 'run:start', { agent: 'approval', input: { action: 'deploy' }, traceparent: caller.header });
    expect(ack).toMatchObject({ ok: true });
    await waitFor(() => events.some((e) => e.runId === ack.runId && e.type === 'interrupt_requested'), 'the question');
    const asked = events.find((e) => e.runId === ack.runId && e.type === 'interrupt_requested')!;
    const interruptId = (asked.data as { interruptId: string }).interruptId;
    expect(await command(socket, 'run:resume', { runId: ack.runId, interruptId, approved: true })).toMatchObject({ ok: true });
    await waitForTerminal(events, ack.runId);

    await receiver.waitFor((spans) => spans.some((s) => s.attributes['agent_pipeline.run_id'] === ack.runId), 'the approval run span');
    const span = receiver.spans.find((s) => s.attributes['agent_pipeline.run_id'] === ack.runId)!;
    expect(span).toMatchObject({ name: 'invoke_agent approval', traceId: caller.traceId, parentSpanId: caller.spanId });
    expect(span.events).toEqual([
      {
        name: 'interrupt_requested',
        attributes: {
          'agent_pipeline.interrupt.id': interruptId,
          'agent_pipeline.interrupt.kind': 'approval',
          'gen_ai.tool.name': 'perform',
        },
      },
      {
        name: 'interrupt_resolved',
        attributes: { 'agent_pipeline.interrupt.id': interruptId, 'agent_pipeline.interrupt.resolution': 'approved' },
      },
    ]);
  });

  it('the AG-UI and AI SDK routes continue the traceparent header of their request', async () => {
    const post = (path: string, body: unknown, traceparent: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token('alice')}`, traceparent },
        body: JSON.stringify(body),
      });
    const agUi = newTraceparent();
    const agUiRes = await post(
      '/ag-ui/agents/echo',
      {
        threadId: `ag-ui-${randomBytes(3).toString('hex')}`,
        runId: 'r1',
        messages: [{ id: 'm1', role: 'user', content: 'hi' }],
        tools: [],
        context: [],
        state: {},
        forwardedProps: {},
      },
      agUi.header,
    );
    expect(agUiRes.status).toBe(200);
    const agUiRunId = agUiRes.headers.get('x-run-id')!;
    await agUiRes.text();
    const aiSdk = newTraceparent();
    const aiSdkRes = await post(
      '/ai-sdk/agents/echo/chat',
      {
        id: `chat-${randomBytes(3).toString('hex')}`,
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
        trigger: 'submit-message',
      },
      aiSdk.header,
    );
    expect(aiSdkRes.status).toBe(200);
    await aiSdkRes.text();

    await receiver.waitFor(
      (spans) => spans.some((s) => s.traceId === agUi.traceId) && spans.some((s) => s.traceId === aiSdk.traceId),
      'the AG-UI and AI SDK run spans',
    );
    expect(receiver.spans.find((s) => s.traceId === agUi.traceId)).toMatchObject({
      name: 'invoke_agent echo',
      parentSpanId: agUi.spanId,
      attributes: { 'agent_pipeline.run_id': agUiRunId },
    });
    expect(receiver.spans.find((s) => s.traceId === aiSdk.traceId)).toMatchObject({
      name: 'invoke_agent echo',
      parentSpanId: aiSdk.spanId,
    });
  });

  it('a malformed traceparent is ignored: the run starts a trace of its own', async () => {
    const res = await http.post(
      '/runs?wait=true',
      { agent: 'echo', input: { text: 'hi' } },
      { headers: { traceparent: '00-not-a-trace-01' } },
    );
    expect(res.status).toBe(200);
    await receiver.waitFor((spans) => spans.some((s) => s.attributes['agent_pipeline.run_id'] === res.body.runId), 'the echo span');
    const span: ReceivedSpan = receiver.spans.find((s) => s.attributes['agent_pipeline.run_id'] === res.body.runId)!;
    expect(span.parentSpanId).toBeUndefined();
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('tracing off (no exporter configured)', () => {
  afterAll(() => stopAllServerProcesses());

  it('OTEL_TRACES_EXPORTER=none: nothing is exported even with an endpoint, and log lines carry no trace ids', async () => {
    const receiver = await OtlpReceiver.start();
    const db = tempDatabase();
    try {
      const server = await startServerProcess({
        DATABASE_URL: db.url,
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      });
      const http = new HttpClient(server.url, server.token('bob'));
      const res = await http.post(
        '/runs?wait=true',
        { agent: 'echo', input: { text: 'hi' } },
        { headers: { traceparent: newTraceparent().header } },
      );
      expect(res.status).toBe(200);
      await waitFor(() => logLines(server).some((l) => l.runId === res.body.runId && l.outcome === 'completed'), 'the run-ended line');
      // Several schedule delays: a span, had one been made, would have been sent by now.
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.requests).toEqual([]);
      expect(logLines(server).filter((l) => 'trace_id' in l || 'span_id' in l)).toEqual([]);
    } finally {
      await receiver.close();
      db.remove();
    }
  });

  it('in-process: the pipeline gets tracing: false and the global API stays the no-op one', async () => {
    const t = await startTestApp({});
    try {
      expect(t.app.get(ServerTracing).pipelineOption).toBe(false);
      const probe = trace.getTracer('probe').startSpan('probe');
      expect(probe.isRecording()).toBe(false);
      probe.end();
      const http = new HttpClient(t.url, t.token('carol'));
      const res = await http.post(
        '/runs?wait=true',
        { agent: 'echo', input: { text: 'hi' } },
        { headers: { traceparent: newTraceparent().header } },
      );
      expect(res.body.status).toBe('completed');
    } finally {
      await t.close();
    }
  });
});
