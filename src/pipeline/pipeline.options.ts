import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MultitaskPolicy } from './events/agent-event.types';

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
  threadMultitask: 'enqueue',
  maxQueuedRunsPerThread: 10,
  queueSweepMs: 1000,
  runRetentionDays: 0,
  retentionIntervalMs: 3_600_000,
  retentionBatchSize: 100,
  retentionBatchPauseMs: 20,
  interruptTimeoutMs: 86_400_000,
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
