import { parseTracingSettings } from './tracing.settings';

describe('parseTracingSettings (the OTEL_* variables)', () => {
  it('is off, without a problem, until an exporter is configured', () => {
    expect(parseTracingSettings({})).toEqual({ problems: [] });
    expect(parseTracingSettings({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toEqual({ problems: [] });
    // Explicitly off, whatever else is set.
    expect(
      parseTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).settings,
    ).toBeUndefined();
    expect(
      parseTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).settings,
    ).toBeUndefined();
  });

  it('an endpoint turns OTLP on, with the standard defaults', () => {
    expect(parseTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      problems: [],
      settings: {
        exporters: ['otlp'],
        otlpUrl: 'http://collector:4318/v1/traces',
        otlpHeaders: {},
        serviceName: 'agent-pipeline',
        resourceAttributes: {},
        sampler: 'parentbased_always_on',
        samplerRatio: 1,
        scheduleDelayMs: undefined,
        recordUserId: false,
      },
    });
  });

  it('reads the traces endpoint, headers, resource, sampler and the user id switch', () => {
    const { settings, problems } = parseTracingSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D1, x-tenant=t1',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=from-resource',
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_RECORD_USER_ID: 'true',
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      exporters: ['otlp', 'console'],
      otlpUrl: 'https://tempo.example/otlp/v1/traces',
      otlpHeaders: { 'x-api-key': 'abc=1', 'x-tenant': 't1' },
      serviceName: 'from-resource',
      resourceAttributes: { 'deployment.environment': 'prod', 'service.name': 'from-resource' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      scheduleDelayMs: 200,
      recordUserId: true,
    });
  });

  it('names each bad variable', () => {
    const { settings, problems } = parseTracingSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign',
      OTEL_BSP_SCHEDULE_DELAY: 'soon',
      OTEL_RECORD_USER_ID: 'maybe',
    });
    expect(settings).toBeUndefined();
    for (const name of [
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
      'OTEL_TRACES_EXPORTER',
      'OTEL_TRACES_SAMPLER must',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_BSP_SCHEDULE_DELAY',
      'OTEL_RECORD_USER_ID',
      'the OTLP endpoint must be an http:// or https:// URL',
    ]) {
      expect(problems.some((p) => p.includes(name))).toBe(true);
    }
  });
});
