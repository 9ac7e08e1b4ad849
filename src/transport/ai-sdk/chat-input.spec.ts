import type { UIMessage } from 'ai';
import { PipelineError } from '../../pipeline';
import { chatInputOf, lastUserText } from './chat-input';
import type { AiSdkChatRequestDto } from './dto/ai-sdk-chat.dto';

const user = (...texts: string[]): UIMessage => ({ id: `u${texts.join()}`, role: 'user', parts: texts.map((text) => ({ type: 'text', text })) });
const assistant = (text: string): UIMessage => ({ id: `a${text}`, role: 'assistant', parts: [{ type: 'text', text }] });
const body = (messages: unknown[], input?: unknown) => ({ id: 'c', messages, trigger: 'submit-message', input }) as AiSdkChatRequestDto;

describe('chatInputOf', () => {
  it('takes the text of the last user message, its text parts joined, ignoring later assistant messages and other parts', async () => {
    const last: UIMessage = {
      id: 'u2',
      role: 'user',
      parts: [{ type: 'text', text: 'a' }, { type: 'file', mediaType: 'image/png', url: 'data:,' }, { type: 'text', text: 'b' }],
    };
    expect(await chatInputOf(body([user('first'), assistant('reply'), last, assistant('partial')]))).toEqual({ text: 'ab' });
  });

  it('prefers the body field input, whatever the messages say', async () => {
    expect(await chatInputOf(body([user('ignored')], { expression: '1 + 1' }))).toEqual({ expression: '1 + 1' });
    expect(await chatInputOf(body([assistant('only an assistant')], null))).toBeNull();
  });

  it('refuses messages that are not UI messages, and a chat with nothing to run, with VALIDATION_FAILED', async () => {
    for (const messages of [[{ role: 'user', parts: [] }], [{ id: 'x', role: 'user', parts: [{ type: 'text', text: 1 }] }], [assistant('no user')]]) {
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
