import { ConfigurableModuleBuilder } from '@nestjs/common';
import { MULTITASK_POLICIES, type MultitaskPolicy } from '@agent-pipeline/protocol';
import { resolveAuthOptions, type PipelineAuthOptions, type ResolvedAuth } from './auth/auth.options';
import { resolveTracingOptions, type PipelineTracingOptions, type ResolvedTracingOptions } from './observability/tracing/tracing.options';

/**
 * Options of `AgentPipelineModule.forRoot()` / the factory of `forRootAsync()`: every setting of
 * the server's Configuration table (DESIGN.md) as a typed option, with the table's defaults (but
 * `databaseUrl`, which defaults to an in-memory store), and `auth`.
 */
export interface AgentPipelineOptions {
  /** How sockets and HTTP calls are authenticated (required). See {@link PipelineAuthOptions}. */
  auth: PipelineAuthOptions;
  /**
   * Run store location: `sqlite:<path>`, `sqlite::memory:` or `postgres://…`.
   * @default 'sqlite::memory:'
   */
  databaseUrl?: string;
  /**
   * A run still going after this many ms ends with `agent_error` code `TIMEOUT`.
   * @default 300000
   */
  runTimeoutMs?: number;
  /**
   * On shutdown, how long running runs may finish before they are cancelled with reason `shutdown`.
   * @default 10000
   */
  shutdownGraceMs?: number;
  /** @default 4 */
  maxConcurrentRunsPerUser?: number;
  /** Runs a user may start per minute over all sockets and HTTP calls; `0` turns the limit off. @default 600 */
  rateLimitRunsPerMinute?: number;
  /** Largest serialized `input`, in bytes. @default 65536 */
  maxInputBytes?: number;
  /** How often buffered events are written to the store, in ms. @default 25 */
  storeFlushIntervalMs?: number;
  /**
   * How long a run's end waits for other runs' ends to share its write (group commit), in ms;
   * `0` writes at the end of the current event-loop turn, which measured best (docs/performance.md).
   * @default 0
   */
  groupCommitMs?: number;
  /** Set when several nodes share the store and a Redis server (scale-out). */
  redisUrl?: string;
  /**
   * Events that may wait in memory for the store (while it is down or behind); beyond this many,
   * new runs are refused with `UNAVAILABLE` while running runs go on and lose nothing.
   * @default 100000
   */
  storeBacklogMaxEvents?: number;
  /**
   * Lease on a node's runs: a run whose node stopped renewing it for this long is taken over by
   * another node (durable agents) or marked `INTERRUPTED`. @default 30000
   */
  runLeaseMs?: number;
  /**
   * Attempts a durable run gets (`RUN_MAX_ATTEMPTS`): the first, plus one per resume after losing
   * its node; a run that loses its node on its last attempt ends with `agent_error` `INTERRUPTED`.
   * @default 3
   */
  runMaxAttempts?: number;
  /**
   * What a start on a thread that has a run in flight does when the start does not say
   * (`THREAD_MULTITASK`): refuse it (`reject`), queue it (`enqueue`) or cancel the runs in flight (`interrupt`).
   * @default 'enqueue'
   */
  threadMultitask?: MultitaskPolicy;
  /** Queued runs a thread may hold; one more is refused with `THREAD_BUSY`. @default 10 */
  maxQueuedRunsPerThread?: number;
  /**
   * How often a node looks in the store for queued runs whose thread is free (their node died, or
   * their user was at the concurrency limit when the thread freed), in ms.
   * @default 1000
   */
  queueSweepMs?: number;
  /**
   * Finished runs older than this many days are deleted with their events (`RUN_RETENTION_DAYS`);
   * `0` keeps every run forever.
   * @default 0
   */
  runRetentionDays?: number;
  /** How often retention looks for runs to delete, in ms. @default 3600000 (hourly) */
  retentionIntervalMs?: number;
  /** Runs deleted per transaction: each batch holds the database (and, on SQLite, the event loop) only briefly (bench/retention.js: median 5 ms). @default 100 */
  retentionBatchSize?: number;
  /** Pause between two batches, in ms, so that the runs being served get the database in between. @default 20 */
  retentionBatchPauseMs?: number;
  /**
   * How long an interrupt (a question a run asks its user) stays open before it resolves as
   * `expired` (`INTERRUPT_TIMEOUT_MS`); an interrupt may ask for a shorter one. Time spent waiting
   * does not count toward `runTimeoutMs`.
   * @default 86400000
   */
  interruptTimeoutMs?: number;
  /**
   * How long an idempotency key names the run it started (`IDEMPOTENCY_TTL_MS`): within it, a
   * start with the same key is answered with that run; after it the key is free again.
   * @default 86400000
   */
  idempotencyTtlMs?: number;
  /** Browser origins allowed to open sockets (`CORS_ORIGINS`); empty = same origin only. HTTP CORS is the app's (`app.enableCors`). @default [] */
  corsOrigins?: string[];
  /** Sockets one user may hold at once, across nodes with `redisUrl`; one more is refused with `too_many_connections`. @default 32 */
  maxSocketsPerUser?: number;
  /** A socket whose unsent data exceeds this many bytes (a client that stopped reading) is disconnected. @default 4194304 */
  socketMaxBufferedBytes?: number;
  /**
   * Socket.IO connection state recovery window, in ms; `0` = off. Socket.IO keeps every broadcast
   * packet for that long, so its memory is event rate × window; clients catch up from the store
   * (`run:replay`) without it.
   * @default 0
   */
  socketRecoveryMs?: number;
  /** Interval of `: keep-alive` comments on idle SSE streams, in ms. @default 15000 */
  sseKeepAliveMs?: number;
  /**
   * Input + output tokens a user's model calls may use per UTC day, over all nodes
   * (`MAX_TOKENS_PER_USER_PER_DAY`); once reached, new runs of agents declared `callsModel` are
   * refused with `QUOTA_EXCEEDED`. `0` = no budget.
   * @default 0
   */
  maxTokensPerUserPerDay?: number;
  /**
   * OpenTelemetry spans of runs, model calls and tool calls: `true` for the global tracer provider,
   * `{ tracerProvider?, recordUserId? }`, or `false`. Off, the pipeline makes no span at all.
   * @default false
   */
  tracing?: boolean | PipelineTracingOptions;
}

/** Where the Socket.IO gateway listens, or `false` for no gateway. */
export type PipelineSocketOptions = { namespace?: string } | false;
/** A prefix for every route of the HTTP API, or `false` for no routes. */
export type PipelineHttpOptions = { path?: string } | false;

/** Options that shape the module itself, given next to `useFactory` in `forRootAsync()`. */
export interface AgentPipelineModuleExtras {
  /** The Socket.IO gateway: `{ namespace }` (default `/agents`), or `false` for none. @default { namespace: '/agents' } */
  socket?: PipelineSocketOptions;
  /** The HTTP API (runs, threads, agents, SSE, AG-UI, AI SDK): `{ path }` prefixes every route, `false` serves none. @default {} */
  http?: PipelineHttpOptions;
  /** The agents as MCP tools at `<http.path>/mcp` (`MCP_SERVER`); needs `http`. @default true */
  mcp?: boolean;
}

/** The options with every default applied. */
export type ResolvedPipelineOptions = Required<Omit<AgentPipelineOptions, 'redisUrl' | 'auth' | 'tracing'>> & {
  redisUrl?: string;
  auth: ResolvedAuth;
  tracing: ResolvedTracingOptions;
};

/** The default of every option but `auth`. */
export const PIPELINE_DEFAULTS: Omit<ResolvedPipelineOptions, 'auth'> = {
  tracing: false,
  maxTokensPerUserPerDay: 0,
  databaseUrl: 'sqlite::memory:',
  runTimeoutMs: 300_000,
  shutdownGraceMs: 10_000,
  maxConcurrentRunsPerUser: 4,
  rateLimitRunsPerMinute: 600,
  maxInputBytes: 65_536,
  storeFlushIntervalMs: 25,
  groupCommitMs: 0,
  runLeaseMs: 30_000,
  runMaxAttempts: 3,
  storeBacklogMaxEvents: 100_000,
  threadMultitask: 'enqueue',
  maxQueuedRunsPerThread: 10,
  queueSweepMs: 1000,
  runRetentionDays: 0,
  retentionIntervalMs: 3_600_000,
  retentionBatchSize: 100,
  retentionBatchPauseMs: 20,
  interruptTimeoutMs: 86_400_000,
  idempotencyTtlMs: 86_400_000,
  corsOrigins: [],
  maxSocketsPerUser: 32,
  socketMaxBufferedBytes: 4_194_304,
  socketRecoveryMs: 0,
  sseKeepAliveMs: 15_000,
};

/** Options that must be integers ≥ 1; every other numeric option may also be 0. */
const POSITIVE = new Set<string>([
  'runTimeoutMs',
  'maxConcurrentRunsPerUser',
  'maxInputBytes',
  'storeFlushIntervalMs',
  'runLeaseMs',
  'runMaxAttempts',
  'queueSweepMs',
  'retentionIntervalMs',
  'retentionBatchSize',
  'interruptTimeoutMs',
  'idempotencyTtlMs',
  'maxSocketsPerUser',
  'socketMaxBufferedBytes',
  'sseKeepAliveMs',
]);

/**
 * Applies the defaults and checks every option; a wrong one fails the start with an error that
 * names it, rather than a pipeline that misbehaves later.
 */
export function resolvePipelineOptions(options: AgentPipelineOptions): ResolvedPipelineOptions {
  if (options === null || typeof options !== 'object') throw new Error('AgentPipelineModule: options must be an object.');
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<AgentPipelineOptions>;
  const { auth, tracing, ...rest } = defined;
  const resolved = { ...PIPELINE_DEFAULTS, ...rest, auth: resolveAuthOptions(auth), tracing: resolveTracingOptions(tracing) };
  for (const [key, value] of Object.entries(resolved)) {
    if (typeof (PIPELINE_DEFAULTS as Record<string, unknown>)[key] !== 'number') continue;
    const min = POSITIVE.has(key) ? 1 : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new Error(`AgentPipelineModule: '${key}' must be an integer ≥ ${min} (got ${JSON.stringify(value)}).`);
    }
  }
  if (typeof resolved.databaseUrl !== 'string' || resolved.databaseUrl === '') {
    throw new Error("AgentPipelineModule: 'databaseUrl' must be sqlite:<path>, sqlite::memory: or postgres://….");
  }
  if (!(MULTITASK_POLICIES as readonly string[]).includes(resolved.threadMultitask)) {
    throw new Error(`AgentPipelineModule: 'threadMultitask' must be one of ${MULTITASK_POLICIES.join(', ')}.`);
  }
  if (!Array.isArray(resolved.corsOrigins) || resolved.corsOrigins.some((o) => typeof o !== 'string')) {
    throw new Error("AgentPipelineModule: 'corsOrigins' must be a list of origins such as ['https://app.example.com'].");
  }
  return resolved;
}

export const {
  ConfigurableModuleClass: AgentPipelineConfigurableModule,
  MODULE_OPTIONS_TOKEN: PIPELINE_MODULE_OPTIONS,
  OPTIONS_TYPE: PIPELINE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: PIPELINE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AgentPipelineOptions>()
  .setClassMethodName('forRoot')
  .setExtras<AgentPipelineModuleExtras>({ socket: {}, http: {}, mcp: true }, (definition) => definition)
  .build();
