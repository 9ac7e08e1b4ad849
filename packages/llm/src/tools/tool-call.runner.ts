import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { throwIfAborted, validateJson, type AgentNotifier, type InterruptFn, type StepFn } from '@agent-pipeline/nestjs';
import type { ToolContext } from './tool.interface';
import { ToolCatalog } from './tool.catalog';

/** One function call the model asked for, its arguments still the raw JSON text it streamed. */
export interface ToolCallRequest {
  /** The id the model gave the call; the tool message that answers it must carry the same id. */
  id: string;
  name: string;
  arguments: string;
}

/** How a tool call ended: exactly one of `result` or `error`. */
export type ToolCallOutcome = { result: unknown; error?: undefined } | { error: string; result?: undefined };

/**
 * Runs one tool call of the model: parses and validates its arguments, reports `tool_executing`
 * and `tool_completed`, and calls the tool. Every failure of the call itself — unknown tool, bad
 * JSON, arguments that break the schema, a throwing tool — becomes the call's `error`, which goes
 * back to the model so it can correct itself; only an abort of the run propagates.
 */
@Injectable()
export class ToolCallRunner {
  constructor(private readonly tools: ToolCatalog) {}

  /**
   * @param eventId The `toolCallId` of the events; defaults to the model's id.
   * @param askUser When given, the user is asked (an `approval` interrupt) before the tool runs;
   *   a denial or an expiry becomes the call's outcome, and the tool never runs.
   * @param step When given, the call itself (after the approval) runs as this step of a durable
   *   run, named after `eventId`: a resumed run replays its outcome instead of calling the tool again.
   */
  async run(
    call: ToolCallRequest,
    notifier: AgentNotifier,
    context: ToolContext,
    eventId = call.id,
    askUser?: InterruptFn,
    step?: StepFn,
  ): Promise<ToolCallOutcome> {
    const parsed = parseArguments(call.arguments);
    // Calls that cannot run anyway (unknown tool, bad JSON) fail below without bothering the user.
    if (askUser && 'value' in parsed && this.tools.get(call.name)) {
      const answer = await askUser({
        kind: 'approval',
        message: `Allow the assistant to call ${call.name}?`,
        tool: call.name,
        args: parsed.value,
        toolCallId: eventId,
      });
      if (answer.resolution !== 'approved') return { error: declined(call.name, answer.resolution, answer.reason) };
    }
    const execute = async (): Promise<ToolCallOutcome> => {
      // The model's raw text is reported when it is not JSON: it is what the model actually sent.
      notifier.toolExecuting(call.name, 'value' in parsed ? parsed.value : call.arguments, eventId);
      const started = performance.now();
      const invoke = async (failed: (error: string) => void): Promise<ToolCallOutcome> => {
        const outcome = 'value' in parsed ? await this.execute(call.name, parsed.value, context) : { error: parsed.error };
        if (outcome.error !== undefined) failed(outcome.error);
        return outcome;
      };
      // Every call, whatever its tool (and a call that could not run), is one `execute_tool` span of the run.
      const outcome = context.telemetry
        ? await context.telemetry.toolCall({ tool: call.name, toolCallId: eventId }, invoke)
        : await invoke(() => undefined);
      throwIfAborted(context.signal);
      notifier.toolCompleted(eventId, call.name, outcome, performance.now() - started);
      return outcome;
    };
    return step ? step(`tool-call-${eventId}`, execute) : execute();
  }

  private async execute(name: string, args: unknown, context: ToolContext): Promise<ToolCallOutcome> {
    const tool = this.tools.get(name);
    if (!tool) {
      return { error: `Unknown tool '${name}'. Available tools: ${this.tools.names().join(', ') || '(none)'}.` };
    }
    // An MCP server checks its tools' arguments itself, against schemas richer than this validator reads.
    const problems = tool.remote ? [] : validateJson(args, tool.parameters);
    if (problems.length > 0) return { error: `Invalid arguments for '${name}': ${problems.join('; ')}.` };
    let result: unknown;
    try {
      result = await tool.execute(args, context);
    } catch (err) {
      throwIfAborted(context.signal);
      return { error: err instanceof Error ? err.message || err.name : String(err) };
    }
    try {
      // Results travel as JSON (events, store, the model): fail here, as the tool's error, if one cannot.
      return { result: JSON.parse(JSON.stringify(result ?? null)) as unknown };
    } catch (err) {
      return { error: `Tool '${name}' returned a value that is not JSON: ${(err as Error).message}` };
    }
  }
}

/** The content of the `tool` message that answers a call. */
export function toolMessageContent(outcome: ToolCallOutcome): string {
  if (outcome.error !== undefined) return JSON.stringify({ error: outcome.error });
  return typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result);
}

/** What the model is told when the user did not let a call run. */
function declined(tool: string, resolution: string, reason?: string): string {
  const why = resolution === 'expired' ? 'did not answer in time, so the call was not made' : 'declined this call, so it was not made';
  return (
    `The user ${why} (${tool} did not run)${reason ? `; their reason: ${reason}` : ''}. ` +
    'Do not call it again unless the user asks; tell the user instead.'
  );
}

function parseArguments(text: string): { value: unknown } | { error: string } {
  // Models call argument-less tools with '' as often as with '{}'.
  if (text.trim() === '') return { value: {} };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { error: `The arguments are not valid JSON (${(err as Error).message}); send one JSON object.` };
  }
}
