import { context, propagation, trace, type TracerProvider } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingSettings } from './tracing.settings';

/** The server's running trace SDK. */
export interface ServerTracingHandle {
  readonly provider: TracerProvider;
  /** Sends the spans still batched, then unregisters the SDK (the global API is a no-op again). */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry trace SDK: a Node tracer provider with the configured sampler, batched
 * export to OTLP/HTTP (JSON) and/or the console, the W3C trace-context propagator, and the
 * AsyncLocalStorage context manager (so a run's log lines and any instrumented library see the
 * run's span). Registered globally, for the libraries of the app that trace through the API.
 */
export function startServerTracing(settings: TracingSettings): ServerTracingHandle {
  const exporters: SpanExporter[] = settings.exporters.map((kind) =>
    kind === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter({ url: settings.otlpUrl, headers: settings.otlpHeaders }),
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: settings.serviceName }),
    sampler: samplerOf(settings),
    spanProcessors: exporters.map(
      (exporter) =>
        new BatchSpanProcessor(exporter, settings.scheduleDelayMs !== undefined ? { scheduledDelayMillis: settings.scheduleDelayMs } : {}),
    ),
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  let stopped: Promise<void> | undefined;
  return {
    provider,
    shutdown() {
      stopped ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopped;
    },
  };
}

function samplerOf({ sampler, samplerRatio }: TracingSettings): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(samplerRatio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplerRatio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
