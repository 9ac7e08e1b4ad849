import { PipelineError } from '../../errors/pipeline.error';
import { agentInputOf, parseRunAgentInput, resumeAnswerOf } from './run-agent-input.parser';

const base = { threadId: 't', runId: 'r', messages: [], tools: [], context: [], state: {}, forwardedProps: {} };

function validationError(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return err as PipelineError;
  }
  throw new Error('expected a PipelineError');
}

describe('RunAgentInput (the AG-UI request body)', () => {
  it('accepts what the official schema accepts', () => {
    expect(parseRunAgentInput({ threadId: 't', runId: 'r', messages: [] })).toMatchObject({ threadId: 't', runId: 'r', messages: [] });
  });

  it('refuses what it refuses with VALIDATION_FAILED, naming the fields', () => {
    const err = validationError(() => parseRunAgentInput({ threadId: 't', messages: [{ id: 1, role: 'user', content: 'x' }] }));
    expect(err.code).toBe('VALIDATION_FAILED');
    const fields = (err.details as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['runId', 'messages.0.id']));
    expect(validationError(() => parseRunAgentInput('nope')).details).toEqual({
      fields: [{ field: '(body)', errors: [expect.any(String)] }],
    });
    expect(validationError(() => parseRunAgentInput(undefined)).code).toBe('VALIDATION_FAILED');
  });

  it('holds threadId to the thread ids of the rest of the API, and bounds runId', () => {
    for (const threadId of ['', 'a b', 'x'.repeat(129), 'thread/1']) {
      const err = validationError(() => parseRunAgentInput({ ...base, threadId }));
      expect(err.details).toEqual({ fields: [{ field: 'threadId', errors: [expect.any(String)] }] });
    }
    expect(parseRunAgentInput({ ...base, threadId: 'a_b-c.d:e' + 'x'.repeat(119) }).threadId).toHaveLength(128);
    expect(validationError(() => parseRunAgentInput({ ...base, runId: '' })).details).toMatchObject({ fields: [{ field: 'runId' }] });
    expect(validationError(() => parseRunAgentInput({ ...base, runId: 'r'.repeat(257) })).details).toMatchObject({
      fields: [{ field: 'runId' }],
    });
  });

  it("takes forwardedProps.input as the agent's input when present", () => {
    const input = parseRunAgentInput({
      ...base,
      forwardedProps: { input: { expression: '1+1' } },
      messages: [{ id: 'm', role: 'user', content: 'ignored' }],
    });
    expect(agentInputOf(input)).toEqual({ expression: '1+1' });
    // Falsy but present inputs are inputs too.
    expect(agentInputOf(parseRunAgentInput({ ...base, forwardedProps: { input: 0 } }))).toBe(0);
  });

  it('else takes { text } of the last user message, whatever came after it', () => {
    const input = parseRunAgentInput({
      ...base,
      messages: [
        { id: '1', role: 'user', content: 'first' },
        { id: '2', role: 'assistant', content: 'answer' },
        {
          id: '3',
          role: 'user',
          content: [
            { type: 'text', text: 'second' },
            { type: 'text', text: 'part' },
          ],
        },
        { id: '4', role: 'assistant', content: 'later' },
      ],
    });
    expect(agentInputOf(input)).toEqual({ text: 'second\npart' });
    expect(agentInputOf(parseRunAgentInput({ ...base, messages: [{ id: '1', role: 'user', content: 'only' }] }))).toEqual({ text: 'only' });
  });

  it('has no input without forwardedProps.input and without a user message (the agent decides)', () => {
    expect(agentInputOf(parseRunAgentInput({ ...base, messages: [{ id: '1', role: 'assistant', content: 'hi' }] }))).toBeUndefined();
  });

  it('reads a resume entry as our answer: approved, a response, cancelled as a denial; none without one', () => {
    const entry = (e: Record<string, unknown>) => resumeAnswerOf(parseRunAgentInput({ ...base, resume: [{ interruptId: 'i', ...e }] }));
    expect(entry({ status: 'resolved', payload: { approved: true } })).toEqual({ interruptId: 'i', answer: { approved: true } });
    expect(entry({ status: 'resolved', payload: { approved: false, reason: 'not now' } })).toEqual({
      interruptId: 'i',
      answer: { approved: false, reason: 'not now' },
    });
    expect(entry({ status: 'resolved', payload: { response: { city: 'Oslo' } } })).toEqual({
      interruptId: 'i',
      answer: { response: { city: 'Oslo' } },
    });
    expect(entry({ status: 'cancelled' })).toEqual({ interruptId: 'i', answer: { approved: false } });
    expect(resumeAnswerOf(parseRunAgentInput(base))).toBeUndefined();
  });

  it('refuses a resume entry whose payload says nothing, and more than one entry', () => {
    const noAnswer = parseRunAgentInput({ ...base, resume: [{ interruptId: 'i', status: 'resolved', payload: { ok: 1 } }] });
    expect(validationError(() => resumeAnswerOf(noAnswer)).code).toBe('VALIDATION_FAILED');
    const two = parseRunAgentInput({
      ...base,
      resume: [
        { interruptId: 'i', status: 'resolved', payload: { approved: true } },
        { interruptId: 'j', status: 'cancelled' },
      ],
    });
    expect(validationError(() => resumeAnswerOf(two)).code).toBe('VALIDATION_FAILED');
  });
});
