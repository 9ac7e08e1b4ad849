import { safeValidateUIMessages, type UIMessage } from 'ai';
import { PipelineError } from '../../errors/pipeline.error';
import type { AiSdkChatRequestDto } from './dto/ai-sdk-chat.dto';

/**
 * The agent input of a chat request (DESIGN.md, "Agent UI protocols"): the body's `input` when
 * present, else `{ text }` of the last user message. The messages are checked against the AI SDK's
 * own `UIMessage` schema first; anything wrong is `VALIDATION_FAILED`, before a run exists.
 */
export async function chatInputOf(body: AiSdkChatRequestDto): Promise<unknown> {
  const checked = await safeValidateUIMessages({ messages: body.messages });
  if (!checked.success) {
    throw new PipelineError('VALIDATION_FAILED', `Invalid request: messages ${describeIssue(checked.error)}.`, {
      fields: [{ field: 'messages', errors: [describeIssue(checked.error)] }],
    });
  }
  if (body.input !== undefined) return body.input;
  const text = lastUserText(checked.data);
  if (text === undefined) {
    throw new PipelineError(
      'VALIDATION_FAILED',
      'Invalid request: the last user message has no text part, and no input was sent. Send a text message, or the agent input as the body field `input`.',
      { fields: [{ field: 'messages', errors: ['the last user message must have a text part, unless input is sent'] }] },
    );
  }
  return { text };
}

/** An answer `addToolApprovalResponse` sends: the approval of a tool call in the last assistant message. */
export interface ToolApprovalResponse {
  /** The assistant message's id: the run's id. */
  messageId: string;
  /** The approval's id: the run's interruptId. */
  interruptId: string;
  approved: boolean;
  reason?: string;
}

/**
 * The tool approval a chat request answers, when it answers one: the last message is the
 * assistant's and holds a tool part in state `approval-responded` (what `addToolApprovalResponse`
 * leaves before the AI SDK sends the chat again). Undefined for an ordinary new message.
 */
export function toolApprovalResponseOf(messages: readonly UIMessage[]): ToolApprovalResponse | undefined {
  const last = messages[messages.length - 1];
  if (last?.role !== 'assistant') return undefined;
  for (const part of last.parts) {
    const tool = part as { type: string; state?: string; approval?: { id?: unknown; approved?: unknown; reason?: unknown } };
    if (!(tool.type.startsWith('tool-') || tool.type === 'dynamic-tool') || tool.state !== 'approval-responded') continue;
    const { id, approved, reason } = tool.approval ?? {};
    if (typeof id !== 'string' || typeof approved !== 'boolean') continue;
    return { messageId: last.id, interruptId: id, approved, ...(typeof reason === 'string' ? { reason } : {}) };
  }
  return undefined;
}

/** The text parts of the last user message, joined; `undefined` when it has none. */
export function lastUserText(messages: readonly UIMessage[]): string | undefined {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const texts = last?.parts.flatMap((part) => (part.type === 'text' ? [part.text] : []));
  return texts && texts.length > 0 ? texts.join('') : undefined;
}

/** The first schema issue, short and without echoing the messages back. */
function describeIssue(error: Error): string {
  const issues = (error.cause as { issues?: { path?: PropertyKey[]; message?: string }[] } | undefined)?.issues;
  const issue = issues?.[0];
  if (!issue) return 'are not AI SDK UI messages';
  const path = (issue.path ?? []).map(String).join('.');
  return `are not AI SDK UI messages (${path ? `at ${path}: ` : ''}${issue.message ?? 'invalid'})`.slice(0, 300);
}
