import { context, isSpanContextValid, trace } from '@opentelemetry/api';

/** `trace_id` and `span_id` of the span active here (none outside traced work), for a log line. */
export function traceFields(): Record<string, string> {
  const span = trace.getSpanContext(context.active());
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}
