import type { LlmModuleOptions, McpServerOptions } from '@agent-pipeline/llm';
import type { EnvironmentVariables } from './environment.schema';
import type { PipelineAuthOptions } from '@agent-pipeline/nestjs';
import type { JwtAuthMode } from './jwt-auth.settings';
import type { TracingSettings } from '../observability/tracing/tracing.settings';

/** Typed, validated settings of the server; inject `AppConfig` anywhere. */
export class AppConfig {
  readonly production: boolean;
  readonly port: number;
  /** The listen address: `HOST`, else loopback under development auth and every interface otherwise. */
  readonly host: string;
  /** True when `HOST` was set (development auth then listens where it says). */
  readonly hostExplicit: boolean;
  /** The pipeline's `auth` option, from the `JWT_*` variables. */
  readonly auth: PipelineAuthOptions;
  /** Where the keys that verify tokens come from. */
  readonly authMode: JwtAuthMode;
  readonly databaseUrl: string;
  readonly redisUrl?: string;
  readonly runTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly maxConcurrentRunsPerUser: number;
  readonly rateLimitRunsPerMinute: number;
  readonly maxInputBytes: number;
  readonly demoAgents: boolean;
  /** Allowed browser origins; empty = same origin only. */
  readonly corsOrigins: string[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly runLeaseMs: number;
  /** `RUN_MAX_ATTEMPTS`. */
  readonly runMaxAttempts: number;
  readonly threadMultitask: 'reject' | 'enqueue' | 'interrupt';
  /** `INTERRUPT_TIMEOUT_MS`. */
  readonly interruptTimeoutMs: number;
  /** `IDEMPOTENCY_TTL_MS`. */
  readonly idempotencyTtlMs: number;
  readonly maxQueuedRunsPerThread: number;
  /** Days finished runs are kept; 0 = forever. */
  readonly runRetentionDays: number;
  readonly threadQueueSweepMs: number;
  /** Connection state recovery window; 0 = off. */
  readonly socketRecoveryMs: number;
  readonly maxSocketsPerUser: number;
  /** Unsent bytes of one socket after which it is disconnected as a slow consumer. */
  readonly socketMaxBufferedBytes: number;
  readonly storeBacklogMaxEvents: number;
  /** Interval of `: keep-alive` comments on idle SSE streams. */
  readonly sseKeepAliveMs: number;
  /** The `assistant` agent's options; present when `LLM_BASE_URL` is set. */
  readonly llm?: LlmModuleOptions;
  /** `MCP_SERVER`: the agents are served as MCP tools at `POST /mcp`. */
  readonly mcpServer: boolean;
  /** `MAX_TOKENS_PER_USER_PER_DAY`; 0 = no budget. */
  readonly maxTokensPerUserPerDay: number;
  /** The `OTEL_*` tracing settings; absent when tracing is off (no exporter configured). */
  readonly tracing?: TracingSettings;

  constructor(env: EnvironmentVariables, auth: PipelineAuthOptions, authMode: JwtAuthMode, tracing?: TracingSettings) {
    this.tracing = tracing;
    this.maxTokensPerUserPerDay = env.MAX_TOKENS_PER_USER_PER_DAY;
    this.production = env.NODE_ENV === 'production';
    this.port = env.PORT;
    this.auth = auth;
    this.authMode = authMode;
    this.hostExplicit = env.HOST !== undefined;
    this.host = env.HOST ?? (this.devAuth ? '127.0.0.1' : '0.0.0.0');
    this.databaseUrl = env.DATABASE_URL;
    this.redisUrl = env.REDIS_URL;
    this.runTimeoutMs = env.RUN_TIMEOUT_MS;
    this.shutdownGraceMs = env.SHUTDOWN_GRACE_MS;
    this.maxConcurrentRunsPerUser = env.MAX_CONCURRENT_RUNS_PER_USER;
    this.rateLimitRunsPerMinute = env.RATE_LIMIT_RUNS_PER_MINUTE;
    this.maxInputBytes = env.MAX_INPUT_BYTES;
    this.demoAgents = env.DEMO_AGENTS;
    this.corsOrigins = (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    this.logLevel = env.LOG_LEVEL;
    this.runLeaseMs = env.RUN_LEASE_MS;
    this.runMaxAttempts = env.RUN_MAX_ATTEMPTS;
    this.threadMultitask = env.THREAD_MULTITASK;
    this.interruptTimeoutMs = env.INTERRUPT_TIMEOUT_MS;
    this.idempotencyTtlMs = env.IDEMPOTENCY_TTL_MS;
    this.maxQueuedRunsPerThread = env.MAX_QUEUED_RUNS_PER_THREAD;
    this.runRetentionDays = env.RUN_RETENTION_DAYS;
    this.threadQueueSweepMs = env.THREAD_QUEUE_SWEEP_MS;
    this.socketRecoveryMs = env.SOCKET_RECOVERY_MS;
    this.maxSocketsPerUser = env.MAX_SOCKETS_PER_USER;
    this.socketMaxBufferedBytes = env.SOCKET_MAX_BUFFERED_BYTES;
    this.storeBacklogMaxEvents = env.STORE_BACKLOG_MAX_EVENTS;
    this.sseKeepAliveMs = env.SSE_KEEPALIVE_MS;
    this.llm = env.LLM_BASE_URL
      ? {
          baseUrl: env.LLM_BASE_URL,
          apiKey: env.LLM_API_KEY,
          model: env.LLM_MODEL ?? '',
          systemPrompt: env.LLM_SYSTEM_PROMPT,
          maxSteps: env.LLM_MAX_STEPS,
          timeoutMs: env.LLM_TIMEOUT_MS,
          maxRetries: env.LLM_MAX_RETRIES,
          historyMessages: env.LLM_HISTORY_MESSAGES,
          maxDeltaEventsPerSecond: env.LLM_MAX_DELTA_EVENTS_PER_SECOND,
          approvalTools: (env.LLM_APPROVAL_TOOLS ?? '')
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name.length > 0),
          // Each entry is checked by LlmModule at start, which names the bad one.
          mcpServers: env.LLM_MCP_SERVERS !== undefined ? (JSON.parse(env.LLM_MCP_SERVERS) as McpServerOptions[]) : undefined,
        }
      : undefined;
    this.mcpServer = env.MCP_SERVER;
  }

  /**
   * Development auth: none of `JWT_SECRET`, `JWT_JWKS_URL`, `JWT_PUBLIC_KEY` is set, so a random
   * secret is made and dev tokens are handed out.
   */
  get devAuth(): boolean {
    return this.authMode === 'development';
  }
}
