import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/protocol';
import { answerOf, canElicitForms, elicitationOf } from './mcp-elicitation';
import { agentTool, progressMessage, toolResultOf } from './mcp-tool.mapping';

const RUN = { runId: 'r1', threadId: 't1' };
const envelope = (type: string, data: unknown, seq = 1): AgentEventEnvelope =>
  ({ runId: 'r1', threadId: 't1', seq, type, agent: 'a', ts: '2026-01-01T00:00:00.000Z', data }) as AgentEventEnvelope;

describe('MCP tool mapping', () => {
  it("advertises an agent's name, description and inputSchema", () => {
    const schema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
    expect(agentTool({ name: 'echo', description: 'Echoes.', inputSchema: schema, durable: false })).toEqual({
      name: 'echo',
      description: 'Echoes.',
      inputSchema: schema,
    });
  });

  it('gives a result as text, an object also as structuredContent, and names the run in _meta', () => {
    expect(toolResultOf(envelope('agent_completed', { result: 'hi', durationMs: 1 }), RUN)).toEqual({
      content: [{ type: 'text', text: 'hi' }],
      _meta: RUN,
    });
    expect(toolResultOf(envelope('agent_completed', { result: 35 }), RUN).content).toEqual([{ type: 'text', text: '35' }]);
    expect(toolResultOf(envelope('agent_completed', { result: { total: 3, items: [1] } }), RUN)).toEqual({
      content: [{ type: 'text', text: '{"total":3,"items":[1]}' }],
      structuredContent: { total: 3, items: [1] },
      _meta: RUN,
    });
    expect(toolResultOf(envelope('agent_completed', { result: [1, 2] }), RUN).structuredContent).toBeUndefined();
  });

  it('answers isError for a failed, cancelled or vanished run', () => {
    expect(toolResultOf(envelope('agent_error', { code: 'TIMEOUT', message: 'too slow' }), RUN)).toEqual({
      content: [{ type: 'text', text: 'TIMEOUT: too slow' }],
      structuredContent: { error: { code: 'TIMEOUT', message: 'too slow' } },
      isError: true,
      _meta: RUN,
    });
    expect(toolResultOf(envelope('agent_cancelled', { reason: 'shutdown' }), RUN)).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'CANCELLED: The run was cancelled (shutdown).' }],
    });
    expect(toolResultOf(undefined, RUN)).toMatchObject({ isError: true });
  });

  it('words each event as a progress message', () => {
    expect(progressMessage(envelope('agent_started', { input: {} }))).toBe('agent_started');
    expect(progressMessage(envelope('agent_thinking', { thought: 'tick 2', step: 2 }))).toBe('agent_thinking: tick 2');
    expect(progressMessage(envelope('tool_completed', { tool: 'calculate', error: 'bad' }))).toBe('tool_completed: calculate failed: bad');
    expect(progressMessage(envelope('agent_message_delta', { delta: 'x'.repeat(500) }))).toHaveLength('agent_message_delta: '.length + 200);
  });
});

describe('MCP elicitation of interrupts', () => {
  const approval: InterruptRequestedData = { interruptId: 'i', kind: 'approval', message: 'Approve: deploy?', expiresAt: '' };
  const input = (responseSchema: unknown): InterruptRequestedData => ({
    interruptId: 'i',
    kind: 'input',
    message: 'Name?',
    responseSchema,
    expiresAt: '',
  });

  it('puts an approval as Approve + reason, and a flat input schema as it is', () => {
    expect(elicitationOf(approval)?.requestedSchema).toMatchObject({
      required: ['approved'],
      properties: { approved: { type: 'boolean' } },
    });
    const flat = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } };
    expect(elicitationOf(input(flat))).toEqual({ message: 'Name?', requestedSchema: flat });
    expect(elicitationOf(input({ type: 'object', properties: { tags: { type: 'array' } } }))).toBeUndefined();
    expect(elicitationOf(input(undefined))).toBeUndefined();
  });

  it('answers from the form; a dismissed form leaves the question open', () => {
    expect(answerOf(approval, { action: 'accept', content: { approved: true, reason: ' ok ' } })).toEqual({
      approved: true,
      reason: ' ok ',
    });
    expect(answerOf(approval, { action: 'accept', content: { approved: false } })).toEqual({ approved: false });
    expect(answerOf(approval, { action: 'decline' })).toEqual({ approved: false });
    expect(answerOf(approval, { action: 'cancel' })).toBeUndefined();
    expect(answerOf(input({}), { action: 'accept', content: { name: 'Ada' } })).toEqual({ response: { name: 'Ada' } });
    expect(answerOf(input({}), { action: 'decline' })).toBeUndefined();
  });

  it('reads the client capability: {} and form mean forms, url alone does not', () => {
    expect(canElicitForms({ elicitation: {} })).toBe(true);
    expect(canElicitForms({ elicitation: { form: {} } })).toBe(true);
    expect(canElicitForms({ elicitation: { url: {} } })).toBe(false);
    expect(canElicitForms({})).toBe(false);
    expect(canElicitForms(undefined)).toBe(false);
  });
});
