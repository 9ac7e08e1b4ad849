/** The parts of an MCP `tools/call` result the assistant reads. */
export interface McpCallResult {
  content?: ReadonlyArray<{ type: string; text?: string; [key: string]: unknown }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/**
 * What an MCP tool's answer becomes for the model and `tool_completed`: an `isError` result is a
 * tool error (its text as the message), structured content is the result as it is, text-only
 * content is its text, and anything else (images, resources) is the content list as JSON.
 */
export function mcpCallOutcome(server: string, tool: string, answer: McpCallResult): { result: unknown } | { error: string } {
  const content = Array.isArray(answer.content) ? answer.content : [];
  const texts = content.filter((part) => part.type === 'text' && typeof part.text === 'string').map((part) => part.text as string);
  if (answer.isError === true) {
    return { error: texts.join('\n').trim() || `The MCP tool '${tool}' of server '${server}' reported an error without a message.` };
  }
  if (answer.structuredContent !== undefined && answer.structuredContent !== null) return { result: answer.structuredContent };
  if (texts.length === content.length) return { result: texts.join('\n') };
  return { result: content };
}
