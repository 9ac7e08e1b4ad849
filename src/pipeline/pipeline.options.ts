import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Options of {@link AgentPipelineModule}. */
export interface AgentPipelineOptions {
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
  /** Lease on a node's runs: a run whose node stopped renewing it for this long is marked `INTERRUPTED`. @default 30000 */
  runLeaseMs?: number;
}

export type ResolvedPipelineOptions = Required<Omit<AgentPipelineOptions, 'redisUrl'>> & { redisUrl?: string };

export const PIPELINE_DEFAULTS: ResolvedPipelineOptions = {
  databaseUrl: 'sqlite::memory:',
  runTimeoutMs: 300_000,
  shutdownGraceMs: 10_000,
  maxConcurrentRunsPerUser: 4,
  rateLimitRunsPerMinute: 600,
  maxInputBytes: 65_536,
  storeFlushIntervalMs: 25,
  groupCommitMs: 0,
  runLeaseMs: 30_000,
  storeBacklogMaxEvents: 100_000,
};

export function resolvePipelineOptions(options: AgentPipelineOptions): ResolvedPipelineOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...PIPELINE_DEFAULTS, ...defined };
}

export const {
  ConfigurableModuleClass: AgentPipelineConfigurableModule,
  MODULE_OPTIONS_TOKEN: PIPELINE_MODULE_OPTIONS,
  OPTIONS_TYPE: PIPELINE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: PIPELINE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AgentPipelineOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
