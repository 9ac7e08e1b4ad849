import { Inject, Injectable } from '@nestjs/common';
import { context, isSpanContextValid, trace, type Tracer } from '@opentelemetry/api';
import { PIPELINE_OPTIONS } from '../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import { UsageRecorder, type ObservedRun } from '../../usage/usage.recorder';
import { RunObservation } from './run-observation';
import { formatTraceparent, parseTraceparent } from './trace-parent';

/** The instrumentation scope of the pipeline's spans. */
const TRACER_NAME = '@agent-pipeline/nestjs';

/**
 * The pipeline's side of tracing: whether it is on (the `tracing` option), the trace context a
 * start carries into its run, and each run's {@link RunObservation}. Off, it holds no tracer at
 * all, so no span (not even a non-recording one) is ever made.
 */
@Injectable()
export class RunTracer {
  private readonly tracer?: Tracer;
  private readonly recordUserId: boolean;

  constructor(
    @Inject(PIPELINE_OPTIONS) options: ResolvedPipelineOptions,
    private readonly usage: UsageRecorder,
  ) {
    const tracing = options.tracing;
    this.recordUserId = tracing !== false && tracing.recordUserId;
    if (tracing !== false) this.tracer = (tracing.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER_NAME);
  }

  /** True when runs are traced. */
  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * The trace a new run continues, as a `traceparent` to store with it: the caller's own (header
   * or `run:start` field) when it is well formed, else the span active where the start was called
   * (an instrumented HTTP server's, a job's), else none (the run starts a trace). Undefined, and
   * nothing parsed, when tracing is off.
   */
  capture(traceparent: unknown): string | undefined {
    if (!this.tracer) return undefined;
    const given = parseTraceparent(traceparent);
    if (given) return formatTraceparent(given);
    const active = trace.getSpanContext(context.active());
    return active && isSpanContextValid(active) ? formatTraceparent(active) : undefined;
  }

  /** The observation of one run (its span opens with {@link RunObservation.begin}). */
  observe(run: ObservedRun): RunObservation {
    return new RunObservation(run, this.usage, this.tracer, this.recordUserId);
  }
}
