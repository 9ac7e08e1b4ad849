import type { TracerProvider } from '@opentelemetry/api';

/**
 * The `tracing` option of the pipeline: spans of runs, model calls and tool calls (OpenTelemetry
 * GenAI conventions). The pipeline only uses `@opentelemetry/api`; the app starts the SDK and its
 * exporter (the server does when an `OTEL_*` exporter is configured, see its README).
 */
export interface PipelineTracingOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Put the run's user id on its span (`user.id`; `OTEL_RECORD_USER_ID`). @default false */
  recordUserId?: boolean;
}

/** The `tracing` option resolved: `false` when off. */
export type ResolvedTracingOptions = false | { tracerProvider?: TracerProvider; recordUserId: boolean };

/** `true` = the global provider; `false` / absent = off (the default: no span, no context, no cost). */
export function resolveTracingOptions(option: boolean | PipelineTracingOptions | undefined): ResolvedTracingOptions {
  if (option === undefined || option === false) return false;
  if (option === true) return { recordUserId: false };
  if (typeof option !== 'object' || option === null) {
    throw new Error("AgentPipelineModule: 'tracing' must be true, false or { tracerProvider?, recordUserId? }.");
  }
  if (option.tracerProvider !== undefined && typeof option.tracerProvider?.getTracer !== 'function') {
    throw new Error("AgentPipelineModule: 'tracing.tracerProvider' must be an OpenTelemetry TracerProvider (it has no getTracer()).");
  }
  return { tracerProvider: option.tracerProvider, recordUserId: option.recordUserId === true };
}
