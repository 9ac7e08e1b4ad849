import type OpenAI from 'openai';
import { ChatStreamAccumulator } from './chat-stream.accumulator';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

function chunk(delta: Record<string, unknown>, finishReason: string | null = null, extra: Partial<Chunk> = {}): Chunk {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...extra,
  } as Chunk;
}

describe('ChatStreamAccumulator', () => {
  it('joins content deltas and returns each piece as it comes', () => {
    const sut = new ChatStreamAccumulator();
    expect(sut.push(chunk({ role: 'assistant', content: '' }))).toBe('');
    expect(sut.push(chunk({ content: 'Hel' }))).toBe('Hel');
    expect(sut.push(chunk({ content: 'lo' }))).toBe('lo');
    expect(sut.finished).toBe(false);
    expect(sut.push(chunk({}, 'stop'))).toBe('');
    expect(sut.finished).toBe(true);
    expect(sut.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } })).toBe('');
    expect(sut.result()).toEqual({
      content: 'Hello',
      toolCalls: [],
      finishReason: 'stop',
      model: 'm',
      usage: { inputTokens: 5, outputTokens: 2 },
    });
  });

  it('rebuilds parallel tool calls whose pieces are spread over chunks by index', () => {
    const sut = new ChatStreamAccumulator();
    sut.push(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'calculate', arguments: '' } }] }));
    sut.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expr' } }] }));
    sut.push(chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'current_time', arguments: '{' } }] }));
    sut.push(
      chunk({
        tool_calls: [
          { index: 0, function: { arguments: 'ession":"1+1"}' } },
          { index: 1, function: { arguments: '}' } },
        ],
      }),
    );
    sut.push(chunk({}, 'tool_calls'));
    expect(sut.result()).toEqual({
      content: '',
      finishReason: 'tool_calls',
      model: 'm',
      toolCalls: [
        { id: 'call_a', name: 'calculate', arguments: '{"expression":"1+1"}' },
        { id: 'call_b', name: 'current_time', arguments: '{}' },
      ],
    });
  });

  it('follows servers that send whole tool calls without an index, or without an id', () => {
    const sut = new ChatStreamAccumulator();
    sut.push(chunk({ tool_calls: [{ id: 'x1', function: { name: 'calculate', arguments: '{"expression":"2"}' } }] }));
    sut.push(chunk({ tool_calls: [{ id: 'x2', function: { name: 'current_time', arguments: '{}' } }] }));
    sut.push(chunk({ tool_calls: [{ function: { name: 'calculate', arguments: '{}' } }] }));
    expect(sut.result().toolCalls).toEqual([
      { id: 'x1', name: 'calculate', arguments: '{"expression":"2"}' },
      // A piece without index or id continues the last call.
      { id: 'x2', name: 'calculate', arguments: '{}{}' },
    ]);
  });

  it('reports a refusal as text, ignores other choices, and takes usage from a choice chunk', () => {
    const sut = new ChatStreamAccumulator();
    expect(sut.push(chunk({ refusal: 'I cannot help with that.' }))).toBe('I cannot help with that.');
    expect(sut.push({ ...chunk({}), choices: [{ index: 1, delta: { content: 'other' }, finish_reason: 'stop' }] } as Chunk)).toBe('');
    sut.push(chunk({}, 'stop', { usage: { prompt_tokens: 3, completion_tokens: 1 } as OpenAI.CompletionUsage }));
    expect(sut.result()).toEqual({
      content: 'I cannot help with that.',
      toolCalls: [],
      finishReason: 'stop',
      model: 'm',
      usage: { inputTokens: 3, outputTokens: 1 },
    });
  });

  it('tolerates chunks without choices or delta', () => {
    const sut = new ChatStreamAccumulator();
    expect(sut.push({ id: 'c' } as Chunk)).toBe('');
    expect(sut.push({ choices: [{ index: 0, finish_reason: 'stop' }] } as unknown as Chunk)).toBe('');
    expect(sut.result()).toEqual({ content: '', toolCalls: [], finishReason: 'stop' });
  });
});
