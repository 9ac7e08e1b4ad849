import { Inject, Injectable } from '@nestjs/common';
import { RunTracer } from '../observability/tracing/run-tracer';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from '../store/event-write.buffer';

/**
 * The singletons a run's orchestrator works with, injected as one: Nest looks every constructor
 * parameter of a request-scoped provider up again for each run (about 1.5 µs a parameter).
 */
@Injectable()
export class RunServices {
  constructor(
    @Inject(PIPELINE_OPTIONS) readonly options: ResolvedPipelineOptions,
    readonly writer: EventWriteBuffer,
    readonly tracer: RunTracer,
  ) {}
}
