import type { ApiHeaderOptions } from '@nestjs/swagger';

/** The OpenAPI description of the `traceparent` header that the start routes take. */
export const TRACEPARENT_HEADER_DOC: ApiHeaderOptions = {
  name: 'traceparent',
  required: false,
  description:
    "W3C trace context of the caller: with tracing on, the run's spans continue this trace, also when the run starts later " +
    '(queued) or on another node. A malformed value is ignored.',
};
