import { JsonToSseTransformStream, readUIMessageStream, type UIMessage } from 'ai';
import type { AgentEventDataMap, AgentEventEnvelope, AgentEventType } from '@agent-pipeline/protocol';
import { SSE_DONE_FRAME, toSseFrame, UiMessageStreamTranslator, type RunMessageChunk } from './ui-message-stream.translator';

const RUN = { runId: 'run-1', threadId: 'chat-1', agent: 'demo' };

/** A run's envelopes, seq 1..n, from `[type, data]` pairs. */
function run(...events: { [T in AgentEventType]: [T, AgentEventDataMap[T]] }[AgentEventType][]): AgentEventEnvelope[] {
  return events.map(([type, data], i) => ({ ...RUN, seq: i + 1, type, ts: new Date(0).toISOString(), data }) as AgentEventEnvelope);
}

function translateAll(events: AgentEventEnvelope[], sut = new UiMessageStreamTranslator()): RunMessageChunk[] {
  return events.flatMap((e) => sut.translate(e));
}

/** The message `useChat` would build from the parts, by the AI SDK's own reader. */
async function messageOf(parts: RunMessageChunk[]): Promise<UIMessage> {
  const stream = new ReadableStream<RunMessageChunk>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream })) last = message;
  return last!;
}

const STARTED: ['agent_started', { input: unknown }] = ['agent_started', { input: {} }];

describe('UiMessageStreamTranslator', () => {
  it('maps an echo run to one assistant message: start, reasoning, one text part, finish', () => {
    const parts = translateAll(
      run(
        STARTED,
        ['agent_thinking', { thought: 'Echoing', step: 1 }],
        ['agent_message_delta', { messageId: 'm1', delta: 'hi' }],
        ['agent_completed', { result: 'hi', durationMs: 1 }],
      ),
    );
    expect(parts).toEqual([
      { type: 'start', messageId: 'run-1', messageMetadata: RUN },
      { type: 'start-step' },
      { type: 'reasoning-start', id: 'reasoning-2' },
      { type: 'reasoning-delta', id: 'reasoning-2', delta: 'Echoing' },
      { type: 'reasoning-end', id: 'reasoning-2' },
      { type: 'text-start', id: 'm1' },
      { type: 'text-delta', id: 'm1', delta: 'hi' },
      { type: 'text-end', id: 'm1' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'stop', messageMetadata: { ...RUN, status: 'completed' } },
    ]);
  });

  it('opens one text part per messageId and closes it before a thought, a tool or another message', () => {
    const parts = translateAll(
      run(
        STARTED,
        ['agent_message_delta', { messageId: 'a', delta: 'one ' }],
        ['agent_message_delta', { messageId: 'a', delta: 'two' }],
        ['tool_executing', { toolCallId: 't1', tool: 'calculate', args: { expression: '1+1' } }],
        ['tool_completed', { toolCallId: 't1', tool: 'calculate', result: 2, durationMs: 1 }],
        ['agent_message_delta', { messageId: 'b', delta: 'x' }],
        ['agent_message_delta', { messageId: 'c', delta: 'y' }],
        ['agent_thinking', { thought: 't', step: 1 }],
        ['agent_completed', { result: null, durationMs: 1 }],
      ),
    );
    expect(parts.map((p) => ('id' in p ? `${p.type}:${p.id}` : p.type))).toEqual([
      'start',
      'start-step',
      'text-start:a',
      'text-delta:a',
      'text-delta:a',
      'text-end:a',
      'tool-input-available',
      'tool-output-available',
      'text-start:b',
      'text-delta:b',
      'text-end:b',
      'text-start:c',
      'text-delta:c',
      'text-end:c',
      'reasoning-start:reasoning-8',
      'reasoning-delta:reasoning-8',
      'reasoning-end:reasoning-8',
      'finish-step',
      'finish',
    ]);
  });

  it('maps a tool call to tool-input-available and tool-output-available, or tool-output-error', () => {
    const parts = translateAll(
      run(
        STARTED,
        ['tool_executing', { toolCallId: 't1', tool: 'calculate', args: { expression: '2 + 3' } }],
        ['tool_completed', { toolCallId: 't1', tool: 'calculate', result: 5, durationMs: 1 }],
        ['tool_executing', { toolCallId: 't2', tool: 'calculate', args: { expression: '2 +' } }],
        ['tool_completed', { toolCallId: 't2', tool: 'calculate', error: 'Unexpected end', durationMs: 1 }],
      ),
    );
    expect(parts.slice(2)).toEqual([
      { type: 'tool-input-available', toolCallId: 't1', toolName: 'calculate', input: { expression: '2 + 3' } },
      { type: 'tool-output-available', toolCallId: 't1', output: 5 },
      { type: 'tool-input-available', toolCallId: 't2', toolName: 'calculate', input: { expression: '2 +' } },
      { type: 'tool-output-error', toolCallId: 't2', errorText: 'Unexpected end' },
    ]);
  });

  it('ends a failed run with an error part carrying code and message, then finish with the error in the metadata', () => {
    const parts = translateAll(
      run(STARTED, ['agent_message_delta', { messageId: 'm', delta: 'par' }], ['agent_error', { code: 'AGENT_FAILED', message: 'boom' }]),
    );
    expect(parts.slice(-4)).toEqual([
      { type: 'text-end', id: 'm' },
      { type: 'finish-step' },
      { type: 'error', errorText: 'AGENT_FAILED: boom' },
      {
        type: 'finish',
        finishReason: 'error',
        messageMetadata: { ...RUN, status: 'failed', error: { code: 'AGENT_FAILED', message: 'boom' } },
      },
    ]);
  });

  it('maps agent_resumed to a data-agent-resumed part, closing the text the lost attempt left open', async () => {
    const resumed = { attempt: 2, afterSeq: 2, reason: 'restart' as const };
    const parts = translateAll(
      run(
        STARTED,
        ['agent_message_delta', { messageId: 'm1', delta: 'half' }],
        ['agent_resumed', resumed],
        ['agent_message_delta', { messageId: 'm2', delta: 'whole' }],
        ['agent_completed', { result: 'whole', durationMs: 1 }],
      ),
    );
    const at = parts.findIndex((p) => p.type === 'data-agent-resumed');
    expect(parts[at - 1]).toEqual({ type: 'text-end', id: 'm1' });
    expect(parts[at]).toEqual({ type: 'data-agent-resumed', id: 'resumed-3', data: resumed });
    const message = await messageOf(parts);
    expect(message.parts).toContainEqual(expect.objectContaining({ type: 'data-agent-resumed', data: resumed }));
  });

  it('ends a cancelled run with abort (the reason) and finish with status cancelled', () => {
    const parts = translateAll(run(STARTED, ['agent_thinking', { thought: 't', step: 1 }], ['agent_cancelled', { reason: 'user' }]));
    expect(parts.slice(-3)).toEqual([
      { type: 'finish-step' },
      { type: 'abort', reason: 'user' },
      { type: 'finish', finishReason: 'other', messageMetadata: { ...RUN, status: 'cancelled', reason: 'user' } },
    ]);
  });

  it('says nothing after the end, and close() adds nothing to a finished message', () => {
    const sut = new UiMessageStreamTranslator();
    translateAll(run(STARTED, ['agent_completed', { result: 1, durationMs: 1 }]), sut);
    expect(sut.translate(run(STARTED, ['agent_thinking', { thought: 'late', step: 1 }])[1])).toEqual([]);
    expect(sut.close()).toEqual([]);
  });

  it('closes a message whose run end never came: open text, step, finish', () => {
    const sut = new UiMessageStreamTranslator();
    translateAll(run(STARTED, ['agent_message_delta', { messageId: 'm', delta: 'x' }]), sut);
    expect(sut.close()).toEqual([
      { type: 'text-end', id: 'm' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'other', messageMetadata: RUN },
    ]);
    expect(new UiMessageStreamTranslator().close()).toEqual([]);
  });

  it('derives its state from the events alone: a fresh translator fed the same run says the same', () => {
    const events = run(
      STARTED,
      ['agent_message_delta', { messageId: 'm', delta: 'a' }],
      ['agent_message_delta', { messageId: 'm', delta: 'b' }],
      ['agent_completed', { result: 'ab', durationMs: 1 }],
    );
    const live = new UiMessageStreamTranslator();
    const liveParts = [...translateAll(events.slice(0, 2), live), ...translateAll(events.slice(2), live)];
    expect(translateAll(events)).toEqual(liveParts);
  });

  it('maps an input question to a data-interrupt part that its answer replaces, through the AI SDK reader', async () => {
    const events = run(
      STARTED,
      [
        'interrupt_requested',
        {
          interruptId: 'q1',
          kind: 'input',
          message: 'Which city?',
          responseSchema: { type: 'string' },
          expiresAt: '2026-01-02T00:00:00.000Z',
        },
      ],
      ['interrupt_resolved', { interruptId: 'q1', resolution: 'answered', response: 'Oslo' }],
      ['agent_completed', { result: 'Oslo', durationMs: 1 }],
    );
    const parts = translateAll(events);
    expect(parts.filter((p) => p.type === 'data-interrupt')).toEqual([
      { type: 'data-interrupt', id: 'q1', data: { ...events[1].data, status: 'pending' } },
      { type: 'data-interrupt', id: 'q1', data: { ...events[1].data, status: 'answered', response: 'Oslo' } },
    ]);
    const message = await messageOf(parts);
    // One part, updated in place: the answer replaced the question's pending state.
    expect(message.parts.filter((p) => p.type === 'data-interrupt')).toEqual([
      { type: 'data-interrupt', id: 'q1', data: { ...events[1].data, status: 'answered', response: 'Oslo' } },
    ]);
  });

  it('announces an approved tool call once: tool-input-available before the approval request, not again when it runs', () => {
    const parts = translateAll(
      run(
        STARTED,
        [
          'interrupt_requested',
          {
            interruptId: 'q1',
            kind: 'approval',
            message: 'Approve?',
            tool: 'perform',
            args: { a: 1 },
            toolCallId: 'c1',
            expiresAt: '2026-01-02T00:00:00.000Z',
          },
        ],
        ['interrupt_resolved', { interruptId: 'q1', resolution: 'approved' }],
        ['tool_executing', { toolCallId: 'c1', tool: 'perform', args: { a: 1 } }],
        ['tool_completed', { toolCallId: 'c1', tool: 'perform', result: 'done', durationMs: 1 }],
        ['agent_completed', { result: 'done', durationMs: 1 }],
      ),
    );
    expect(parts.filter((p) => p.type.startsWith('tool-'))).toEqual([
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'perform', input: { a: 1 } },
      { type: 'tool-approval-request', approvalId: 'q1', toolCallId: 'c1' },
      { type: 'tool-output-available', toolCallId: 'c1', output: 'done' },
    ]);
  });

  it('builds, through the AI SDK reader, the message useChat shows: reasoning, text, a tool part, metadata', async () => {
    const message = await messageOf(
      translateAll(
        run(
          STARTED,
          ['agent_thinking', { thought: 'Let me compute', step: 1 }],
          ['tool_executing', { toolCallId: 't1', tool: 'calculate', args: { expression: '6 ÷ 3' } }],
          ['tool_completed', { toolCallId: 't1', tool: 'calculate', result: 2, durationMs: 1 }],
          ['agent_message_delta', { messageId: 'm', delta: 'It is ' }],
          ['agent_message_delta', { messageId: 'm', delta: '2.' }],
          ['agent_completed', { result: 2, durationMs: 1 }],
        ),
      ),
    );
    expect(message).toMatchObject({ id: 'run-1', role: 'assistant', metadata: { ...RUN, status: 'completed' } });
    expect(message.parts).toEqual([
      { type: 'step-start' },
      expect.objectContaining({ type: 'reasoning', text: 'Let me compute', state: 'done' }),
      expect.objectContaining({
        type: 'tool-calculate',
        toolCallId: 't1',
        state: 'output-available',
        input: { expression: '6 ÷ 3' },
        output: 2,
      }),
      expect.objectContaining({ type: 'text', text: 'It is 2.', state: 'done' }),
    ]);
  });
});

describe('toSseFrame', () => {
  it('writes the same bytes as the AI SDK JsonToSseTransformStream, [DONE] included', async () => {
    const parts: RunMessageChunk[] = [
      { type: 'start', messageId: 'r', messageMetadata: RUN },
      { type: 'text-delta', id: 'm', delta: 'line\nbreak "quoted" ✓' },
      { type: 'error', errorText: 'AGENT_FAILED: x' },
    ];
    const stream = new ReadableStream<RunMessageChunk>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    }).pipeThrough(new JsonToSseTransformStream());
    let theirs = '';
    for await (const text of stream as unknown as AsyncIterable<string>) theirs += text;
    expect(parts.map(toSseFrame).join('') + SSE_DONE_FRAME).toBe(theirs);
  });
});
