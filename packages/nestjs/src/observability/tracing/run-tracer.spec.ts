import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { RunUsage } from '@agent-pipeline/protocol';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import type { ObservedRun, UsageRecorder } from '../../usage/usage.recorder';
import { RunTracer } from './run-tracer';
import { formatTraceparent, parseTraceparent } from './trace-parent';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const run: ObservedRun = { runId: 'run-1', userId: 'alice', agent: 'assistant', threadId: 'thread-1', traceparent: PARENT };

/** A usage sink that remembers what it was told. */
function recordingSink(): { sink: UsageRecorder; calls: { model: string; tokens: RunUsage }[] } {
  const calls: { model: string; tokens: RunUsage }[] = [];
  const sink = { record: async (_run: ObservedRun, model: string, tokens: RunUsage) => void calls.push({ model, tokens }) };
  return { sink: sink as unknown as UsageRecorder, calls };
}

function tracerWith(tracing: ResolvedPipelineOptions['tracing'], sink: UsageRecorder): RunTracer {
  return new RunTracer({ tracing } as ResolvedPipelineOptions, sink);
}

describe('traceparent', () => {
  it('parses version 00 and refuses what the W3C spec says to ignore', () => {
    expect(parseTraceparent(PARENT)).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(parseTraceparent(PARENT)!)).toBe(PARENT);
    for (const bad of [
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
      'not a traceparent',
      42,
      undefined,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    // A later version may append fields.
    expect(parseTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-future')).toMatchObject({ traceFlags: 0 });
  });
});

describe('RunTracer', () => {
  it('off: no tracer, nothing captured, no span opened; model calls are still counted', async () => {
    const { sink, calls } = recordingSink();
    const tracer = tracerWith(false, sink);
    expect(tracer.enabled).toBe(false);
    expect(tracer.capture(PARENT)).toBeUndefined();
    const observation = tracer.observe(run);
    expect(observation.begin()).toBeUndefined();
    expect(observation.traceIds).toBeUndefined();
    // No context is entered: the function runs in the caller's own.
    const outer = context.active();
    expect(observation.within(() => context.active())).toBe(outer);
    const answer = await observation.modelCall({ model: 'm', provider: 'openai' }, async (done) => {
      // Not even a non-recording span is active inside the call.
      expect(trace.getSpan(context.active())).toBeUndefined();
      await done({ inputTokens: 7, outputTokens: 3 });
      return 'answer';
    });
    expect(answer).toBe('answer');
    await observation.modelCall({ model: 'm', provider: 'openai' }, async (done) => void (await done({ inputTokens: 5, outputTokens: 1 })));
    expect(observation.usage).toEqual({ inputTokens: 12, outputTokens: 4 });
    expect(calls).toEqual([
      { model: 'm', tokens: { inputTokens: 7, outputTokens: 3 } },
      { model: 'm', tokens: { inputTokens: 5, outputTokens: 1 } },
    ]);
  });

  it('on: invoke_agent with chat and execute_tool children, parented to the stored traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { sink } = recordingSink();
    const tracer = tracerWith({ tracerProvider: provider, recordUserId: false }, sink);
    expect(tracer.enabled).toBe(true);
    expect(tracer.capture(PARENT)).toBe(PARENT);
    // Without a header, nothing active: a new trace.
    expect(tracer.capture(undefined)).toBeUndefined();

    const observation = tracer.observe(run);
    const ids = observation.begin()!;
    expect(ids.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    await observation.within(() =>
      observation.modelCall({ model: 'gpt-x', provider: 'openai' }, async (done) => {
        await done({ responseModel: 'gpt-x-2026', inputTokens: 10, outputTokens: 2, finishReasons: ['tool_calls'] });
      }),
    );
    await observation.toolCall({ tool: 'calculate', toolCallId: 'call_1' }, async (failed) => failed('1 / 0 is not a number'));
    await expect(
      observation.modelCall({ model: 'gpt-x', provider: 'openai' }, async () => {
        throw new Error('provider down');
      }),
    ).rejects.toThrow('provider down');
    observation.event('interrupt_requested', { 'agent_pipeline.interrupt.id': 'i-1' });
    observation.end({ kind: 'completed', result: 'ok' });
    observation.end({ kind: 'completed', result: 'twice' });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['chat gpt-x', 'execute_tool calculate', 'chat gpt-x', 'invoke_agent assistant']);
    const [chat, tool, failedChat, root] = spans;
    expect(root.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(root.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'assistant',
      'gen_ai.conversation.id': 'thread-1',
      'agent_pipeline.run_id': 'run-1',
      'agent_pipeline.thread_id': 'thread-1',
      'agent_pipeline.outcome': 'completed',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(root.events.map((e) => e.name)).toEqual(['interrupt_requested']);
    for (const child of [chat, tool, failedChat]) expect(child.parentSpanContext?.spanId).toBe(ids.spanId);
    expect(chat.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-x',
      'gen_ai.response.model': 'gpt-x-2026',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 2,
      'gen_ai.response.finish_reasons': ['tool_calls'],
    });
    expect(tool.attributes).toMatchObject({ 'gen_ai.tool.name': 'calculate', 'gen_ai.tool.call.id': 'call_1', 'error.type': 'tool_error' });
    expect(tool.status).toMatchObject({ code: 2, message: '1 / 0 is not a number' });
    expect(failedChat.status).toMatchObject({ code: 2, message: 'provider down' });
    expect(Object.keys(root.attributes)).not.toContain('user.id');
    await provider.shutdown();
  });

  it('puts the user id on the run span only when asked', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const observation = tracerWith({ tracerProvider: provider, recordUserId: true }, recordingSink().sink).observe(run);
    observation.begin();
    observation.end({ kind: 'error', code: 'TIMEOUT', message: 'too slow' });
    const [span] = exporter.getFinishedSpans();
    expect(span.attributes).toMatchObject({ 'user.id': 'alice', 'agent_pipeline.outcome': 'failed', 'error.type': 'TIMEOUT' });
    expect(span.status).toMatchObject({ code: 2, message: 'too slow' });
  });
});
