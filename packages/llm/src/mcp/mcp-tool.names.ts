/** The prefix of every tool the assistant takes from an MCP server. */
export const MCP_TOOL_PREFIX = 'mcp__';

/** The OpenAI function-name rule every name offered to the model must follow. */
const MODEL_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The name the model calls an MCP tool by: `mcp__<server>__<tool>`, with any character a model
 * API refuses in a function name (MCP allows `.`, `/`, …) replaced by `_`; `undefined` when the
 * result would be longer than the 64 characters model APIs accept.
 */
export function mcpToolName(server: string, tool: string): string | undefined {
  const name = `${MCP_TOOL_PREFIX}${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return MODEL_TOOL_NAME.test(name) ? name : undefined;
}

/** The server an `mcp__<server>__…` name or pattern names, if it is one. */
export function mcpServerOf(name: string): string | undefined {
  if (!name.startsWith(MCP_TOOL_PREFIX)) return undefined;
  const end = name.indexOf('__', MCP_TOOL_PREFIX.length);
  return end > MCP_TOOL_PREFIX.length ? name.slice(MCP_TOOL_PREFIX.length, end) : undefined;
}

/**
 * Whether an `LLM_APPROVAL_TOOLS` entry covers a tool: the tool's exact name, or
 * `mcp__<server>__*` for every tool of that server.
 */
export function approvalEntryCovers(entry: string, tool: string): boolean {
  if (entry === tool) return true;
  return entry.endsWith('__*') && mcpServerOf(entry) !== undefined && tool.startsWith(entry.slice(0, -1));
}
