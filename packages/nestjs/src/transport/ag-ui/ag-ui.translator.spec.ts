import { enforceEvents, verifyEvents } from '@ag-ui/client';
import type { AGUIEvent } from '@ag-ui/core';
import { from } from 'rxjs';
import type { AgentEventDataMap, AgentEventEnvelope, AgentEventType } from '@agent-pipeline/protocol';
import { AgUiTranslator, endsAgUiRun } from './ag-ui.translator';

const { EventSchema } = require('@ag-ui/core/schemas') as typeof import('@ag-ui/core/dist/schemas');

const RUN = 'run-1';
const THREAD = 'thread-1';

/** Envelopes of one run, numbered from seq 1. */
function run(...events: { [T in AgentEventType]: [T, AgentEventDataMap[T]] }[AgentEventType][]): AgentEventEnvelope[] {
  return events.map(([type, data], i) => ({
    runId: RUN,
    threadId: THREAD,
    seq: i + 1,
    type,
    agent: 'a',
    ts: '2026-01-01T00:00:00.000Z',
    data,
  }));
}

function translateAll(events: AgentEventEnvelope[], aguiRunId = 'client-run'): AGUIEvent[] {
  const translator = new AgUiTranslator(aguiRunId);
  return events.flatMap((e) => translator.translate(e));
}

const started: ['agent_started', { input: unknown }] = ['agent_started', { input: { text: 'hi' } }];

describe('AgUiTranslator (our events in AG-UI words)', () => {
  it('maps a text run: RUN_STARTED with the AG-UI run id, one message per messageId, RUN_FINISHED with the result', () => {
    const events = run(
      ['agent_started', { input: { text: 'hi' } }],
      ['agent_message_delta', { messageId: 'm1', delta: 'Hel' }],
      ['agent_message_delta', { messageId: 'm1', delta: 'lo' }],
      ['agent_completed', { result: 'Hello', durationMs: 3 }],
    );
    const out = translateAll(events);
    expect(out).toEqual([
      { type: 'RUN_STARTED', threadId: THREAD, runId: 'client-run', rawEvent: events[0] },
      { type: 'TEXT_MESSAGE_START', messageId: 'm1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'Hel' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'lo' },
      { type: 'TEXT_MESSAGE_END', messageId: 'm1' },
      { type: 'RUN_FINISHED', threadId: THREAD, runId: 'client-run', result: 'Hello', outcome: { type: 'success' } },
    ]);
  });

  it('ends the open message when the next one starts, and every message before the run ends', () => {
    const out = translateAll(
      run(
        started,
        ['agent_message_delta', { messageId: 'a', delta: 'x' }],
        ['tool_executing', { toolCallId: 't1', tool: 'calc', args: { e: '1+1' } }],
        ['agent_message_delta', { messageId: 'a', delta: 'y' }],
        ['agent_message_delta', { messageId: 'b', delta: 'z' }],
        ['agent_error', { code: 'AGENT_FAILED', message: 'boom' }],
      ),
    );
    expect(out.map((e) => [e.type, (e as { messageId?: string }).messageId])).toEqual([
      ['RUN_STARTED', undefined],
      ['TEXT_MESSAGE_START', 'a'],
      ['TEXT_MESSAGE_CONTENT', 'a'],
      ['TOOL_CALL_START', undefined],
      ['TOOL_CALL_ARGS', undefined],
      ['TOOL_CALL_END', undefined],
      ['TEXT_MESSAGE_CONTENT', 'a'],
      ['TEXT_MESSAGE_END', 'a'],
      ['TEXT_MESSAGE_START', 'b'],
      ['TEXT_MESSAGE_CONTENT', 'b'],
      ['TEXT_MESSAGE_END', 'b'],
      ['RUN_ERROR', undefined],
    ]);
    expect(out[out.length - 1]).toEqual({ type: 'RUN_ERROR', message: 'boom', code: 'AGENT_FAILED' });
  });

  it('maps a tool call to start/args(JSON)/end and its result (or error) to TOOL_CALL_RESULT with JSON content', () => {
    const out = translateAll(
      run(
        started,
        ['tool_executing', { toolCallId: 't1', tool: 'calculate', args: { expression: '2*3' } }],
        ['tool_completed', { toolCallId: 't1', tool: 'calculate', result: 6, durationMs: 1 }],
        ['tool_executing', { toolCallId: 't2', tool: 'calculate', args: { expression: '1/0' } }],
        ['tool_completed', { toolCallId: 't2', tool: 'calculate', error: 'Division by zero', durationMs: 1 }],
        ['agent_completed', { result: 6, durationMs: 2 }],
      ),
    );
    expect(out.slice(1, 5)).toEqual([
      { type: 'TOOL_CALL_START', toolCallId: 't1', toolCallName: 'calculate' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 't1', delta: '{"expression":"2*3"}' },
      { type: 'TOOL_CALL_END', toolCallId: 't1' },
      { type: 'TOOL_CALL_RESULT', messageId: `${RUN}:3:tool-result`, toolCallId: 't1', role: 'tool', content: '6' },
    ]);
    expect(out[8]).toEqual({
      type: 'TOOL_CALL_RESULT',
      messageId: `${RUN}:5:tool-result`,
      toolCallId: 't2',
      role: 'tool',
      content: '{"error":"Division by zero"}',
    });
  });

  it('maps each thought to a closed reasoning message', () => {
    const out = translateAll(run(started, ['agent_thinking', { thought: 'Pondering', step: 1 }]));
    const id = `${RUN}:2:thinking`;
    expect(out.slice(1)).toEqual([
      { type: 'REASONING_START', messageId: id },
      { type: 'REASONING_MESSAGE_START', messageId: id, role: 'reasoning' },
      { type: 'REASONING_MESSAGE_CONTENT', messageId: id, delta: 'Pondering' },
      { type: 'REASONING_MESSAGE_END', messageId: id },
      { type: 'REASONING_END', messageId: id },
    ]);
  });

  it('ends a cancelled run with RUN_FINISHED and the cancelled outcome, closing the open message first', () => {
    const out = translateAll(
      run(started, ['agent_message_delta', { messageId: 'm', delta: 'part' }], ['agent_cancelled', { reason: 'user' }]),
    );
    expect(out.slice(-2)).toEqual([
      { type: 'TEXT_MESSAGE_END', messageId: 'm' },
      { type: 'RUN_FINISHED', threadId: THREAD, runId: 'client-run', outcome: { type: 'cancelled' } },
    ]);
  });

  it("puts the assistant's token usage into RUN_FINISHED.usage, and none when the run reports none", () => {
    const withUsage = translateAll(
      run(started, ['agent_completed', { result: 'ok', durationMs: 1, usage: { inputTokens: 12, outputTokens: 5 } }]),
    );
    expect(withUsage[1]).toMatchObject({ type: 'RUN_FINISHED', usage: [{ inputTokens: 12, outputTokens: 5, totalTokens: 17 }] });
    const without = translateAll(run(started, ['agent_completed', { result: 'ok', durationMs: 1 }]));
    expect(without[1]).not.toHaveProperty('usage');
  });

  it('rebuilds its state from the events before a resume point: the continuation equals the tail of the whole stream', () => {
    const events = run(
      started,
      ['agent_thinking', { thought: 't', step: 1 }],
      ['agent_message_delta', { messageId: 'a', delta: '1' }],
      ['agent_message_delta', { messageId: 'a', delta: '2' }],
      ['tool_executing', { toolCallId: 't1', tool: 'calc', args: {} }],
      ['tool_completed', { toolCallId: 't1', tool: 'calc', result: { ok: true }, durationMs: 1 }],
      ['agent_message_delta', { messageId: 'b', delta: '3' }],
      ['agent_completed', { result: '12 3', durationMs: 9 }],
    );
    for (let cut = 0; cut <= events.length; cut++) {
      const whole = new AgUiTranslator('r');
      const sent = events.slice(0, cut).flatMap((e) => whole.translate(e));
      const rest = events.slice(cut).flatMap((e) => whole.translate(e));
      const resumed = new AgUiTranslator('r');
      for (const e of events.slice(0, cut)) resumed.translate(e);
      const continuation = events.slice(cut).flatMap((e) => resumed.translate(e));
      expect(continuation).toEqual(rest);
      expect([...sent, ...continuation]).toEqual(translateAll(events, 'r'));
    }
  });

  it('maps agent_resumed to CUSTOM agent_resumed (its data as value), ending the message the lost attempt left open', () => {
    const resumed = { attempt: 2, afterSeq: 2, reason: 'node_lost' as const };
    const out = translateAll(
      run(
        started,
        ['agent_message_delta', { messageId: 'm1', delta: 'half' }],
        ['agent_resumed', resumed],
        ['agent_message_delta', { messageId: 'm2', delta: 'whole' }],
        ['agent_completed', { result: 'whole', durationMs: 1 }],
      ),
    );
    expect(out.map((e) => e.type)).toEqual([
      'RUN_STARTED',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'CUSTOM',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ]);
    expect(out[4]).toEqual({ type: 'CUSTOM', name: 'agent_resumed', value: resumed });
    for (const event of out) expect(EventSchema.safeParse(event).error).toBeUndefined();
  });

  it('produces only events that the official AG-UI schemas accept', () => {
    const out = translateAll(
      run(
        started,
        ['agent_thinking', { thought: 'hmm', step: 1 }],
        ['agent_message_delta', { messageId: 'a', delta: 'x' }],
        ['tool_executing', { toolCallId: 't1', tool: 'calc', args: { e: 1 } }],
        ['tool_completed', { toolCallId: 't1', tool: 'calc', result: undefined, durationMs: 1 }],
        ['agent_completed', { result: { nested: [1, 2] }, durationMs: 2, usage: { inputTokens: 1, outputTokens: 2 } }],
      ),
    );
    for (const event of out) expect(EventSchema.safeParse(event).error).toBeUndefined();
    expect(out).toContainEqual(expect.objectContaining({ type: 'TOOL_CALL_RESULT', content: 'null' }));
  });

  it("passes the official client's enforcement and verification unchanged, without a warning", async () => {
    const warn = jest.spyOn(console, 'warn');
    try {
      const events = translateAll(
        run(
          started,
          ['agent_thinking', { thought: 'hmm', step: 1 }],
          ['agent_message_delta', { messageId: 'a', delta: 'x' }],
          ['tool_executing', { toolCallId: 't1', tool: 'calc', args: { e: 1 } }],
          ['tool_completed', { toolCallId: 't1', tool: 'calc', result: 2, durationMs: 1 }],
          ['agent_message_delta', { messageId: 'b', delta: 'y' }],
          ['agent_completed', { result: 'ok', durationMs: 2, usage: { inputTokens: 1, outputTokens: 2 } }],
        ),
      );
      // The client's own RxJS copy: its operators take any subscribable source.
      const checked = verifyEvents()(enforceEvents()(from(events) as unknown as Parameters<ReturnType<typeof enforceEvents>>[0]));
      const out = await new Promise<unknown[]>((resolve, reject) => {
        const seen: unknown[] = [];
        checked.subscribe({ next: (e) => seen.push(e), error: reject, complete: () => resolve(seen) });
      });
      expect(out).toEqual(events);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('has no words for an event type it does not know (a seam, not a crash)', () => {
    const translator = new AgUiTranslator('r');
    const unknown = { ...run(started)[0], type: 'future_event' } as unknown as AgentEventEnvelope;
    expect(translator.translate(unknown)).toEqual([]);
  });

  it('ends the AG-UI run at a question (interrupt outcome, open message closed) and opens the next at its answer', async () => {
    const events = run(
      started,
      ['agent_message_delta', { messageId: 'a', delta: 'May I?' }],
      [
        'interrupt_requested',
        {
          interruptId: 'q1',
          kind: 'approval',
          message: 'Approve: deploy?',
          tool: 'perform',
          args: { action: 'deploy' },
          toolCallId: 'c1',
          expiresAt: '2026-01-02T00:00:00.000Z',
        },
      ],
      ['interrupt_resolved', { interruptId: 'q1', resolution: 'approved' }],
      ['agent_completed', { result: 'performed deploy', durationMs: 5 }],
    );
    const translator = new AgUiTranslator('first');
    const first = events.slice(0, 3).flatMap((e) => translator.translate(e));
    expect(first.slice(-2)).toEqual([
      { type: 'TEXT_MESSAGE_END', messageId: 'a' },
      {
        type: 'RUN_FINISHED',
        threadId: THREAD,
        runId: 'first',
        outcome: {
          type: 'interrupt',
          interrupts: [
            {
              id: 'q1',
              reason: 'approval',
              message: 'Approve: deploy?',
              toolCallId: 'c1',
              expiresAt: '2026-01-02T00:00:00.000Z',
              metadata: { tool: 'perform', args: { action: 'deploy' } },
            },
          ],
        },
      },
    ]);
    expect(events.map(endsAgUiRun)).toEqual([false, false, true, false, false]);
    // The request that answered streams from the answer on, under its own run id.
    const next = new AgUiTranslator('second');
    events.slice(0, 3).forEach((e) => next.translate(e));
    const rest = events.slice(3).flatMap((e) => next.translate(e));
    expect(rest).toEqual([
      { type: 'RUN_STARTED', threadId: THREAD, runId: 'second', rawEvent: events[3] },
      { type: 'RUN_FINISHED', threadId: THREAD, runId: 'second', result: 'performed deploy', outcome: { type: 'success' } },
    ]);
    // Both AG-UI runs pass the official client's checks.
    for (const stream of [first, rest]) {
      const checked = verifyEvents()(enforceEvents()(from(stream) as unknown as Parameters<ReturnType<typeof enforceEvents>>[0]));
      await expect(new Promise((resolve, reject) => checked.subscribe({ error: reject, complete: () => resolve('ok') }))).resolves.toBe(
        'ok',
      );
    }
  });
});
