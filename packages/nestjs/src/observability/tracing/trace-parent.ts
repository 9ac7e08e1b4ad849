import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/** `version-traceid-parentid-flags`, lower-case hex (W3C Trace Context, level 1). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The longest `traceparent` a start may carry (future versions may append fields). */
export const TRACEPARENT_MAX_LENGTH = 256;

/**
 * The remote parent a W3C `traceparent` names, or undefined when it is malformed: the
 * recommendation is to ignore a bad header and start a new trace, not to refuse the request.
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string' || value.length > TRACEPARENT_MAX_LENGTH) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const parent: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & 1, isRemote: true };
  return isSpanContextValid(parent) ? parent : undefined;
}

/** The `traceparent` (version 00) of a span context. */
export function formatTraceparent(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;
}
