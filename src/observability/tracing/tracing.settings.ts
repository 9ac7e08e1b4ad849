/**
 * The standard OpenTelemetry variables the server reads (the SDK's own names and meanings, see
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), and one of
 * its own, `OTEL_RECORD_USER_ID`. Tracing is on only once an exporter is configured.
 */
export const OTEL_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_RECORD_USER_ID',
] as const;

/** Where spans go. */
export type TraceExporterKind = 'otlp' | 'console';

/** The samplers of `OTEL_TRACES_SAMPLER`. */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** One of {@link SAMPLERS}. */
export type SamplerName = (typeof SAMPLERS)[number];

/** Tracing as the environment configures it. */
export interface TracingSettings {
  exporters: TraceExporterKind[];
  /** The full URL spans are POSTed to (OTLP/HTTP, JSON). */
  otlpUrl: string;
  otlpHeaders: Record<string, string>;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: SamplerName;
  /** The ratio of the `traceidratio` samplers, 0..1. */
  samplerRatio: number;
  /** `OTEL_BSP_SCHEDULE_DELAY`: how long spans wait to be sent in a batch, in ms. */
  scheduleDelayMs?: number;
  /** Put the run's user id on its span (`user.id`). */
  recordUserId: boolean;
}

/** The default service name (`OTEL_SERVICE_NAME`). */
export const DEFAULT_SERVICE_NAME = 'agent-pipeline';

const DEFAULT_OTLP_BASE = 'http://localhost:4318';
const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)?$/i;

/**
 * Reads the tracing variables of `env`. `settings` is undefined when tracing is off (no exporter
 * configured, `OTEL_TRACES_EXPORTER=none`, or `OTEL_SDK_DISABLED=true`); `problems` lists what is
 * wrong, each naming its variable.
 */
export function parseTracingSettings(env: Record<string, unknown>): { settings?: TracingSettings; problems: string[] } {
  const get = (name: (typeof OTEL_VARIABLES)[number]): string | undefined => {
    const value = env[name];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const problems: string[] = [];
  const flag = (name: 'OTEL_SDK_DISABLED' | 'OTEL_RECORD_USER_ID'): boolean => {
    const value = get(name) ?? '';
    if (TRUE.test(value)) return true;
    if (!FALSE.test(value)) problems.push(`${name} must be true or false`);
    return false;
  };
  const disabled = flag('OTEL_SDK_DISABLED');
  const recordUserId = flag('OTEL_RECORD_USER_ID');

  const endpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? get('OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporterList = get('OTEL_TRACES_EXPORTER');
  // Per the specification the exporter defaults to otlp; here only an endpoint turns it on, so a
  // server nobody configured for tracing never sends spans to localhost:4318 (nor pays for them).
  const names = (exporterList ?? (endpoint ? 'otlp' : 'none'))
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  const exporters: TraceExporterKind[] = [];
  for (const name of names) {
    if (name === 'otlp' || name === 'console') exporters.push(name);
    else if (name !== 'none') problems.push(`OTEL_TRACES_EXPORTER must list otlp, console or none (got '${name}')`);
  }

  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const protocol = get(name);
    if (protocol !== undefined && protocol !== 'http/json') {
      problems.push(
        `${name}=${protocol} is not supported: the server exports OTLP over HTTP as JSON (http/json), which Jaeger, Tempo and the OpenTelemetry Collector accept on port 4318`,
      );
    }
  }
  const otlpUrl =
    get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ??
    `${(get('OTEL_EXPORTER_OTLP_ENDPOINT') ?? DEFAULT_OTLP_BASE).replace(/\/+$/, '')}/v1/traces`;
  if (!/^https?:\/\/\S+$/.test(otlpUrl)) problems.push(`the OTLP endpoint must be an http:// or https:// URL (got '${otlpUrl}')`);

  const otlpHeaders = {
    ...keyValues('OTEL_EXPORTER_OTLP_HEADERS', get('OTEL_EXPORTER_OTLP_HEADERS'), problems),
    ...keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS', get('OTEL_EXPORTER_OTLP_TRACES_HEADERS'), problems),
  };
  const resourceAttributes = keyValues('OTEL_RESOURCE_ATTRIBUTES', get('OTEL_RESOURCE_ATTRIBUTES'), problems);

  const sampler = (get('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase() as SamplerName;
  if (!SAMPLERS.includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')} (got '${sampler}')`);
  const ratioText = get('OTEL_TRACES_SAMPLER_ARG');
  const samplerRatio = ratioText === undefined ? 1 : Number(ratioText);
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got '${ratioText}')`);

  const delayText = get('OTEL_BSP_SCHEDULE_DELAY');
  const scheduleDelayMs = delayText === undefined ? undefined : Number(delayText);
  if (scheduleDelayMs !== undefined && !(Number.isInteger(scheduleDelayMs) && scheduleDelayMs >= 0)) {
    problems.push(`OTEL_BSP_SCHEDULE_DELAY must be an integer ≥ 0 (ms; got '${delayText}')`);
  }

  if (problems.length > 0 || disabled || exporters.length === 0) return { problems };
  return {
    problems,
    settings: {
      exporters,
      otlpUrl,
      otlpHeaders,
      serviceName: get('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? DEFAULT_SERVICE_NAME,
      resourceAttributes,
      sampler,
      samplerRatio,
      scheduleDelayMs,
      recordUserId,
    },
  };
}

/** `k1=v1,k2=v2` (values percent-decoded), as the OTEL header and resource variables write them. */
function keyValues(name: string, text: string | undefined, problems: string[]): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (text ?? '').split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf('=');
    const key = at > 0 ? item.slice(0, at).trim() : '';
    if (!key) {
      problems.push(`${name} must be a list of key=value pairs separated by commas (got '${item.trim()}')`);
      continue;
    }
    try {
      pairs[key] = decodeURIComponent(item.slice(at + 1).trim());
    } catch {
      problems.push(`${name}: the value of '${key}' is not valid percent-encoding`);
    }
  }
  return pairs;
}
