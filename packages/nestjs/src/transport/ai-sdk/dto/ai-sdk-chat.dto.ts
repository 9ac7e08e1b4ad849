import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import type { UIMessage } from 'ai';
import { MULTITASK_POLICIES, type MultitaskPolicy } from '@agent-pipeline/protocol';

/** Messages a chat request may carry; the agent reads only the last user message. */
export const MAX_CHAT_MESSAGES = 1000;

/** The thread id rule of `POST /runs` (`threadId`), for the chat `id`. */
const CHAT_ID = /^[\w.:-]+$/;

/**
 * Body of `POST /ai-sdk/agents/:agent/chat`: what the AI SDK's `DefaultChatTransport` sends,
 * `{ id, messages, trigger, messageId, ...body }`. Fields of the transport's `body` option other
 * than `input` and `multitask` are accepted and ignored.
 */
export class AiSdkChatRequestDto {
  @ApiProperty({
    description: "The chat's id: the thread the agent runs on (same rules as `threadId`).",
    example: 'chat-1',
    minLength: 1,
    maxLength: 128,
    pattern: '^[\\w.:-]+$',
  })
  @IsString()
  @Length(1, 128)
  @Matches(CHAT_ID, { message: 'id may only contain letters, digits, "_", "-", "." and ":"' })
  id: string;

  @ApiProperty({
    description:
      "The chat's `UIMessage`s, as `useChat` holds them. Only the text of the last user message is read (as the input " +
      '`{ text }` when no `input` is sent); the conversation memory is the thread, on the server.',
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    maxItems: MAX_CHAT_MESSAGES,
  })
  // Taken as sent (class-transformer would rebuild the objects); the AI SDK's own schema checks them.
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.messages, { toClassOnly: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CHAT_MESSAGES)
  messages: UIMessage[];

  @ApiPropertyOptional({ enum: ['submit-message', 'regenerate-message'], description: 'Both run the agent on the last user message.' })
  @IsOptional()
  @IsIn(['submit-message', 'regenerate-message'])
  trigger?: 'submit-message' | 'regenerate-message';

  @ApiPropertyOptional({ description: 'The message to regenerate (`regenerate-message`); not used by the server.' })
  @IsOptional()
  @IsString()
  @Length(0, 256)
  messageId?: string;

  @ApiPropertyOptional({
    description: "The agent's input, sent through the transport's `body` option; wins over the last user message.",
    example: { expression: '2 + 3' },
  })
  // Taken as sent: the pipeline sanitizes and validates it.
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.input, { toClassOnly: true })
  @IsOptional()
  input?: unknown;

  @ApiPropertyOptional({
    description:
      "Sent through the transport's `body` option, as `multitask` of `POST /runs`: what a message sent while the chat has a " +
      'run in flight does (`reject`: 409 `THREAD_BUSY`; `enqueue`: its run waits its turn, and so does its stream; ' +
      "`interrupt`: the runs in flight are cancelled). Default: the server's THREAD_MULTITASK.",
    enum: MULTITASK_POLICIES,
  })
  @IsOptional()
  @IsIn(MULTITASK_POLICIES, { message: `multitask must be one of ${MULTITASK_POLICIES.join(', ')}` })
  multitask?: MultitaskPolicy;
}
