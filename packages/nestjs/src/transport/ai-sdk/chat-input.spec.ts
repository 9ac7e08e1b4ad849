import type { UIMessage } from 'ai';
import { PipelineError } from '../../errors/pipeline.error';
import { chatInputOf, lastUserText, toolApprovalResponseOf } from './chat-input';
import type { AiSdkChatRequestDto } from './dto/ai-sdk-chat.dto';

const user = (...texts: string[]): UIMessage => ({
  id: `u${texts.join()}`,
  role: 'user',
  parts: texts.map((text) => ({ type: 'text', text })),
});
const assistant = (text: string): UIMessage => ({ id: `a${text}`, role: 'assistant', parts: [{ type: 'text', text }] });
const body = (messages: unknown[], input?: unknown) => ({ id: 'c', messages, trigger: 'submit-message', input }) as AiSdkChatRequestDto;

describe('chatInputOf', () => {
  it('takes the text of the last user message, its text parts joined, ignoring later assistant messages and other parts', async () => {
    const last: UIMessage = {
      id: 'u2',
      role: 'user',
      parts: [
        { type: 'text', text: 'a' },
        { type: 'file', mediaType: 'image/png', url: 'data:,' },
        { type: 'text', text: 'b' },
      ],
    };
    expect(await chatInputOf(body([user('first'), assistant('reply'), last, assistant('partial')]))).toEqual({ text: 'ab' });
  });

  it('prefers the body field input, whatever the messages say', async () => {
    expect(await chatInputOf(body([user('ignored')], { expression: '1 + 1' }))).toEqual({ expression: '1 + 1' });
    expect(await chatInputOf(body([assistant('only an assistant')], null))).toBeNull();
  });

  it('refuses messages that are not UI messages, and a chat with nothing to run, with VALIDATION_FAILED', async () => {
    for (const messages of [
      [{ role: 'user', parts: [] }],
      [{ id: 'x', role: 'user', parts: [{ type: 'text', text: 1 }] }],
      [assistant('no user')],
    ]) {
      const err = await chatInputOf(body(messages)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PipelineError);
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [{ field: 'messages' }] } });
    }
  });
});

describe('lastUserText', () => {
  it('is undefined without a user message or when it has no text part', () => {
    expect(lastUserText([])).toBeUndefined();
    expect(lastUserText([user('a'), { id: 'u', role: 'user', parts: [] }])).toBeUndefined();
  });
});

describe('toolApprovalResponseOf (what addToolApprovalResponse sends)', () => {
  const toolPart = (state: string, approval?: Record<string, unknown>) =>
    ({
      type: 'tool-perform',
      toolCallId: 'c1',
      state,
      input: {},
      ...(approval ? { approval } : {}),
    }) as unknown as UIMessage['parts'][number];
  const assistant = (...parts: UIMessage['parts']): UIMessage => ({ id: 'run-1', role: 'assistant', parts });
  const question: UIMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'ship it?' }] };

  it('reads the answered approval of the last assistant message: the run (message id), the question, the answer', () => {
    expect(
      toolApprovalResponseOf([question, assistant(toolPart('approval-responded', { id: 'q1', approved: false, reason: 'not today' }))]),
    ).toEqual({
      messageId: 'run-1',
      interruptId: 'q1',
      approved: false,
      reason: 'not today',
    });
  });

  it('is undefined for a new user message, an approval still asked, or one without an answer', () => {
    expect(toolApprovalResponseOf([question])).toBeUndefined();
    expect(toolApprovalResponseOf([question, assistant(toolPart('approval-requested', { id: 'q1' }))])).toBeUndefined();
    expect(toolApprovalResponseOf([question, assistant(toolPart('approval-responded', { id: 'q1' }))])).toBeUndefined();
    expect(toolApprovalResponseOf([assistant(toolPart('approval-responded', { id: 'q1', approved: true })), question])).toBeUndefined();
  });
});
