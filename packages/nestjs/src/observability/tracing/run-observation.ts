import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { RunUsage } from '@agent-pipeline/protocol';
import type { RunOutcome } from '../../execution/run-outcome';
import type { ModelUsageSink, ObservedRun } from '../../usage/usage.recorder';
import { GEN_AI, PIPELINE_ATTRIBUTES } from './gen-ai.attributes';
import type { ModelCallInfo, ModelCallResult, RunTelemetry, ToolCallInfo } from './run-telemetry';
import { parseTraceparent } from './trace-parent';

/** The ids of a run's span, for log lines. */
export interface RunTraceIds {
  traceId: string;
  spanId: string;
}

const OUTCOME = { completed: 'completed', error: 'failed', cancelled: 'cancelled' } as const;

/**
 * What the pipeline sees of one run besides its events: the `invoke_agent` span (when tracing is
 * on) with its model-call and tool-call children, and the tokens of its model calls. One per run,
 * made with the run's orchestrator. Without a tracer every span method is a no-op and only the
 * usage is kept: the off path creates no span, no context and no attribute object.
 */
export class RunObservation implements RunTelemetry {
  private span?: Span;
  private spanContext?: Context;
  private tokens?: RunUsage;

  constructor(
    private readonly run: ObservedRun,
    private readonly sink: ModelUsageSink,
    private readonly tracer?: Tracer,
    private readonly recordUserId = false,
  ) {}

  /**
   * Opens the run's span (once), as a child of the run's stored `traceparent` (a new trace without
   * one); returns its ids, undefined when tracing is off.
   */
  begin(): RunTraceIds | undefined {
    if (!this.tracer) return undefined;
    if (!this.span) {
      const remote = parseTraceparent(this.run.traceparent);
      const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
      const attributes: Attributes = {
        [GEN_AI.operationName]: 'invoke_agent',
        [GEN_AI.agentName]: this.run.agent,
        [GEN_AI.conversationId]: this.run.threadId,
        [PIPELINE_ATTRIBUTES.runId]: this.run.runId,
        [PIPELINE_ATTRIBUTES.threadId]: this.run.threadId,
      };
      if (this.recordUserId) attributes[GEN_AI.userId] = this.run.userId;
      this.span = this.tracer.startSpan(`invoke_agent ${this.run.agent}`, { kind: SpanKind.INTERNAL, attributes }, parent);
      this.spanContext = trace.setSpan(parent, this.span);
    }
    return this.traceIds;
  }

  /** The run span's ids, once {@link begin} opened it. */
  get traceIds(): RunTraceIds | undefined {
    if (!this.span) return undefined;
    const { traceId, spanId } = this.span.spanContext();
    return { traceId, spanId };
  }

  /** Runs `fn` with the run's span active (so instrumented libraries and log lines see it); as is when off. */
  within<T>(fn: () => T): T {
    return this.spanContext ? context.with(this.spanContext, fn) : fn();
  }

  /** Adds an event to the run's span (an interrupt asked or answered, a resume). */
  event(name: string, attributes?: Attributes): void {
    this.span?.addEvent(name, attributes);
  }

  /** Ends the run's span with the run's outcome. Later calls do nothing. */
  end(outcome: RunOutcome): void {
    const span = this.span;
    if (!span) return;
    this.span = undefined;
    span.setAttribute(PIPELINE_ATTRIBUTES.outcome, OUTCOME[outcome.kind]);
    if (this.tokens) {
      span.setAttribute(GEN_AI.inputTokens, this.tokens.inputTokens);
      span.setAttribute(GEN_AI.outputTokens, this.tokens.outputTokens);
    }
    if (outcome.kind === 'error') {
      span.setAttribute(GEN_AI.errorType, outcome.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
    } else if (outcome.kind === 'cancelled') {
      span.setAttribute(PIPELINE_ATTRIBUTES.cancelReason, outcome.reason);
    }
    span.end();
  }

  /** Tokens of the run's model calls so far; undefined while it has called none. */
  get usage(): RunUsage | undefined {
    return this.tokens ? { ...this.tokens } : undefined;
  }

  async modelCall<T>(info: ModelCallInfo, call: (done: (result: ModelCallResult) => Promise<void>) => Promise<T>): Promise<T> {
    this.tokens ??= { inputTokens: 0, outputTokens: 0 };
    let reported = false;
    const parent = this.spanContext;
    if (!this.tracer || !parent) {
      return call(async (result) => {
        if (reported) return;
        reported = true;
        await this.count(info, result);
      });
    }
    const span = this.tracer.startSpan(
      `chat ${info.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { [GEN_AI.operationName]: 'chat', [GEN_AI.providerName]: info.provider, [GEN_AI.requestModel]: info.model },
      },
      parent,
    );
    const done = async (result: ModelCallResult): Promise<void> => {
      if (reported) return;
      reported = true;
      if (result.responseModel) span.setAttribute(GEN_AI.responseModel, result.responseModel);
      span.setAttribute(GEN_AI.inputTokens, tokenCount(result.inputTokens));
      span.setAttribute(GEN_AI.outputTokens, tokenCount(result.outputTokens));
      if (result.finishReasons) span.setAttribute(GEN_AI.finishReasons, result.finishReasons);
      await this.count(info, result);
    };
    return inSpan(span, parent, () => call(done));
  }

  async toolCall<T>(info: ToolCallInfo, call: (failed: (error: string) => void) => Promise<T>): Promise<T> {
    const parent = this.spanContext;
    if (!this.tracer || !parent) return call(() => undefined);
    const span = this.tracer.startSpan(
      `execute_tool ${info.tool}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [GEN_AI.operationName]: 'execute_tool',
          [GEN_AI.toolName]: info.tool,
          [GEN_AI.toolCallId]: info.toolCallId,
          [GEN_AI.toolType]: 'function',
        },
      },
      parent,
    );
    const failed = (error: string): void => {
      span.setAttribute(GEN_AI.errorType, 'tool_error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    };
    return inSpan(span, parent, () => call(failed));
  }

  private async count(info: ModelCallInfo, result: ModelCallResult): Promise<void> {
    const inputTokens = tokenCount(result.inputTokens);
    const outputTokens = tokenCount(result.outputTokens);
    const tokens = (this.tokens ??= { inputTokens: 0, outputTokens: 0 });
    tokens.inputTokens += inputTokens;
    tokens.outputTokens += outputTokens;
    await this.sink.record(this.run, info.model, { inputTokens, outputTokens });
  }
}

/** A provider's count as a safe non-negative integer (0 for anything else: a missing or odd usage). */
function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** Runs `call` with `span` active under `parent`; a throw marks the span failed; the span ends either way. */
async function inSpan<T>(span: Span, parent: Context, call: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), call);
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

function fail(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setAttribute(GEN_AI.errorType, error.name || 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
