import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentEventEnvelope, AgentInfo } from '@agent-pipeline/protocol';

/** One agent as an MCP tool: its name, description and input schema (see "Agent schemas"). */
export function agentTool(agent: AgentInfo): Tool {
  return { name: agent.name, description: agent.description, inputSchema: agent.inputSchema as Tool['inputSchema'] };
}

/** Which run a tool call made, in every result's `_meta`. */
export interface RunRef {
  runId: string;
  threadId: string;
}

/**
 * The `tools/call` result of a finished run: the result as text (a string as it is, anything
 * else as JSON) plus `structuredContent` when it is an object; `isError` with the error for a
 * failed or cancelled run. `_meta` names the run and its thread, for `GET /runs/:runId` and for
 * the next call on the same thread.
 */
export function toolResultOf(terminal: AgentEventEnvelope | undefined, run: RunRef): CallToolResult {
  const _meta = { runId: run.runId, threadId: run.threadId };
  if (terminal?.type === 'agent_completed') {
    const { result } = terminal.data as { result?: unknown };
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    const structured = isPlainObject(result) ? { structuredContent: result } : {};
    return { content: [{ type: 'text', text }], ...structured, _meta };
  }
  if (terminal?.type === 'agent_error') {
    const { code, message } = terminal.data as { code: string; message: string };
    return errorResult(code, message, _meta);
  }
  if (terminal?.type === 'agent_cancelled') {
    const { reason } = terminal.data as { reason: string };
    return errorResult('CANCELLED', `The run was cancelled (${reason}).`, _meta);
  }
  return errorResult('INTERNAL', 'The run ended without a result (it was deleted).', _meta);
}

/** A tool error: `isError` with `<code>: <message>` as text, and the error as structured content. */
export function errorResult(code: string, message: string, _meta?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { error: { code, message } },
    isError: true,
    ...(_meta ? { _meta } : {}),
  };
}

const MAX_PROGRESS_TEXT = 200;

/** The `message` of the progress notification that carries one event of the run. */
export function progressMessage(event: AgentEventEnvelope): string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const detail = (() => {
    switch (event.type) {
      case 'agent_thinking':
        return data.thought;
      case 'agent_message_delta':
        return data.delta;
      case 'tool_executing':
        return data.tool;
      case 'tool_completed':
        return data.error !== undefined ? `${String(data.tool)} failed: ${String(data.error)}` : data.tool;
      case 'interrupt_requested':
        return data.message;
      case 'interrupt_resolved':
        return data.resolution;
      case 'agent_error':
        return `${String(data.code)}: ${String(data.message)}`;
      case 'agent_cancelled':
        return data.reason;
      default:
        return undefined;
    }
  })();
  if (detail === undefined || detail === null || detail === '') return event.type;
  const text = String(detail);
  return `${event.type}: ${text.length > MAX_PROGRESS_TEXT ? `${text.slice(0, MAX_PROGRESS_TEXT - 1)}…` : text}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
