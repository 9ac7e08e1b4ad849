import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsJSON, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const blankToUndefined = ({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/**
 * The environment variables the server reads, with their defaults (DESIGN.md, "Configuration").
 * Values arrive as strings; they are converted, then validated, at start.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  /** @default 3000 (0 = any free port) */
  @Transform(toInt)
  @IsInt({ message: 'PORT must be an integer between 0 and 65535' })
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /** Listen address. @default '0.0.0.0'; '127.0.0.1' under development auth (unless set) */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(1)
  HOST?: string;

  /** HS256 secret; unset outside production enables development auth. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters long' })
  JWT_SECRET?: string;

  /** JWKS URL of an identity provider; asymmetric tokens are verified with its keys. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  JWT_JWKS_URL?: string;

  /** A PEM public key (SPKI), instead of a JWKS URL. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  JWT_PUBLIC_KEY?: string;

  /** Accepted `iss` values, comma-separated; unset = not checked. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  /** Accepted `aud` values, comma-separated; unset = not checked. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** Accepted `alg` values, comma-separated. @default 'HS256' with a secret; 'RS256,PS256,ES256,EdDSA' with public keys */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  JWT_ALGORITHMS?: string;

  /** Leeway for `exp` / `nbf`, in seconds. @default 5 */
  @Transform(toInt)
  @IsInt({ message: 'JWT_CLOCK_TOLERANCE_S must be an integer between 0 and 3600 (seconds)' })
  @Min(0, { message: 'JWT_CLOCK_TOLERANCE_S must be an integer between 0 and 3600 (seconds)' })
  @Max(3600, { message: 'JWT_CLOCK_TOLERANCE_S must be an integer between 0 and 3600 (seconds)' })
  JWT_CLOCK_TOLERANCE_S = 5;

  /** The claim that holds the user id. @default 'sub' */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() || 'sub' : value))
  @IsString()
  @Matches(/^\S{1,256}$/, { message: 'JWT_USER_CLAIM must be a claim name (1–256 characters, no spaces) such as sub or email' })
  JWT_USER_CLAIM = 'sub';

  /** @default 'sqlite:./data/agent-pipeline.db' */
  @IsString()
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
    message: 'DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://…',
  })
  DATABASE_URL = 'sqlite:./data/agent-pipeline.db';

  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be redis://… or rediss://…' })
  REDIS_URL?: string;

  /** @default 300000 */
  @Transform(toInt)
  @IsInt({ message: 'RUN_TIMEOUT_MS must be a positive integer' })
  @Min(1, { message: 'RUN_TIMEOUT_MS must be a positive integer' })
  @Max(2_147_483_647)
  RUN_TIMEOUT_MS = 300_000;

  /** @default 10000 */
  @Transform(toInt)
  @IsInt({ message: 'SHUTDOWN_GRACE_MS must be an integer >= 0' })
  @Min(0)
  @Max(2_147_483_647)
  SHUTDOWN_GRACE_MS = 10_000;

  /** @default 4 */
  @Transform(toInt)
  @IsInt({ message: 'MAX_CONCURRENT_RUNS_PER_USER must be a positive integer' })
  @Min(1, { message: 'MAX_CONCURRENT_RUNS_PER_USER must be a positive integer' })
  MAX_CONCURRENT_RUNS_PER_USER = 4;

  /** @default 600 (0 = off) */
  @Transform(toInt)
  @IsInt({ message: 'RATE_LIMIT_RUNS_PER_MINUTE must be an integer >= 0' })
  @Min(0)
  RATE_LIMIT_RUNS_PER_MINUTE = 600;

  /** @default 65536 */
  @Transform(toInt)
  @IsInt({ message: 'MAX_INPUT_BYTES must be a positive integer' })
  @Min(2)
  @Max(64 * 1024 * 1024)
  MAX_INPUT_BYTES = 65_536;

  /** @default true */
  @Transform(toBool)
  @IsBoolean({ message: 'DEMO_AGENTS must be true or false' })
  DEMO_AGENTS = true;

  /** Comma-separated browser origins; unset = same origin only. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /** @default 'info' (`silent` turns logging off; the test helper uses it) */
  @IsIn(['debug', 'info', 'warn', 'error', 'silent'], { message: 'LOG_LEVEL must be one of debug, info, warn, error, silent' })
  LOG_LEVEL: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info';

  /** Scale-out: how long a node's lease on its runs lasts without renewal. @default 30000 */
  @Transform(toInt)
  @IsInt({ message: 'RUN_LEASE_MS must be a positive integer' })
  @Min(100)
  RUN_LEASE_MS = 30_000;

  /** Attempts a durable run gets: the first plus one per resume after losing its node. @default 3 */
  @Transform(toInt)
  @IsInt({ message: 'RUN_MAX_ATTEMPTS must be a positive integer' })
  @Min(1, { message: 'RUN_MAX_ATTEMPTS must be a positive integer' })
  RUN_MAX_ATTEMPTS = 3;

  /**
   * Socket.IO connection state recovery window (0 = off). Off by default: clients catch up from
   * the store with `run:replay`, and an in-memory recovery buffer costs event rate × window.
   * @default 0
   */
  @Transform(toInt)
  @IsInt({ message: 'SOCKET_RECOVERY_MS must be an integer between 0 and 600000' })
  @Min(0, { message: 'SOCKET_RECOVERY_MS must be an integer between 0 and 600000' })
  @Max(600_000, { message: 'SOCKET_RECOVERY_MS must be an integer between 0 and 600000' })
  SOCKET_RECOVERY_MS = 0;

  /** Sockets one user may hold at once (across nodes with Redis). @default 32 */
  @Transform(toInt)
  @IsInt({ message: 'MAX_SOCKETS_PER_USER must be a positive integer' })
  @Min(1, { message: 'MAX_SOCKETS_PER_USER must be a positive integer' })
  MAX_SOCKETS_PER_USER = 32;

  /** Unsent outgoing bytes after which a socket (a client that stopped reading) is disconnected. @default 4194304 */
  @Transform(toInt)
  @IsInt({ message: 'SOCKET_MAX_BUFFERED_BYTES must be an integer of at least 65536' })
  @Min(65_536, { message: 'SOCKET_MAX_BUFFERED_BYTES must be an integer of at least 65536' })
  SOCKET_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

  /** Events that may wait in memory while the store is down; beyond it new runs get `UNAVAILABLE`. @default 100000 */
  @Transform(toInt)
  @IsInt({ message: 'STORE_BACKLOG_MAX_EVENTS must be a positive integer' })
  @Min(1, { message: 'STORE_BACKLOG_MAX_EVENTS must be a positive integer' })
  STORE_BACKLOG_MAX_EVENTS = 100_000;

  /** How often an idle Server-Sent Events stream gets a `: keep-alive` comment, in ms. @default 15000 */
  @Transform(toInt)
  @IsInt({ message: 'SSE_KEEPALIVE_MS must be an integer between 10 and 3600000' })
  @Min(10, { message: 'SSE_KEEPALIVE_MS must be an integer between 10 and 3600000' })
  @Max(3_600_000, { message: 'SSE_KEEPALIVE_MS must be an integer between 10 and 3600000' })
  SSE_KEEPALIVE_MS = 15_000;

  /** What `run:start` on a busy thread does when the command does not say. @default 'enqueue' */
  @IsIn(['reject', 'enqueue', 'interrupt'], { message: 'THREAD_MULTITASK must be one of reject, enqueue, interrupt' })
  THREAD_MULTITASK: 'reject' | 'enqueue' | 'interrupt' = 'enqueue';

  /** An interrupt nobody answers within this many ms resolves as `expired`. @default 86400000 */
  @Transform(toInt)
  @IsInt({ message: 'INTERRUPT_TIMEOUT_MS must be a positive integer' })
  @Min(1, { message: 'INTERRUPT_TIMEOUT_MS must be a positive integer' })
  @Max(2_147_483_647)
  INTERRUPT_TIMEOUT_MS = 86_400_000;

  /** How long an idempotency key names the run it started, in ms. @default 86400000 */
  @Transform(toInt)
  @IsInt({ message: 'IDEMPOTENCY_TTL_MS must be a positive integer' })
  @Min(1, { message: 'IDEMPOTENCY_TTL_MS must be a positive integer' })
  @Max(2_147_483_647)
  IDEMPOTENCY_TTL_MS = 86_400_000;

  /** Queued runs one thread may hold; one more is refused with THREAD_BUSY. @default 10 */
  @Transform(toInt)
  @IsInt({ message: 'MAX_QUEUED_RUNS_PER_THREAD must be an integer between 1 and 10000' })
  @Min(1, { message: 'MAX_QUEUED_RUNS_PER_THREAD must be an integer between 1 and 10000' })
  @Max(10_000, { message: 'MAX_QUEUED_RUNS_PER_THREAD must be an integer between 1 and 10000' })
  MAX_QUEUED_RUNS_PER_THREAD = 10;

  /** Finished runs older than this many days are deleted with their events, hourly; 0 keeps them forever. @default 0 */
  @Transform(toInt)
  @IsInt({ message: 'RUN_RETENTION_DAYS must be an integer between 0 (keep forever) and 36500' })
  @Min(0, { message: 'RUN_RETENTION_DAYS must be an integer between 0 (keep forever) and 36500' })
  @Max(36_500, { message: 'RUN_RETENTION_DAYS must be an integer between 0 (keep forever) and 36500' })
  RUN_RETENTION_DAYS = 0;

  /** How often a node looks in the store for queued runs whose thread is free (a dead node's, say). @default 1000 */
  @Transform(toInt)
  @IsInt({ message: 'THREAD_QUEUE_SWEEP_MS must be an integer between 50 and 3600000' })
  @Min(50, { message: 'THREAD_QUEUE_SWEEP_MS must be an integer between 50 and 3600000' })
  @Max(3_600_000, { message: 'THREAD_QUEUE_SWEEP_MS must be an integer between 50 and 3600000' })
  THREAD_QUEUE_SWEEP_MS = 1000;

  /** Input + output model tokens a user may use per UTC day (all nodes); 0 = no budget. @default 0 */
  @Transform(toInt)
  @IsInt({ message: 'MAX_TOKENS_PER_USER_PER_DAY must be an integer ≥ 0 (0 = no budget)' })
  @Min(0, { message: 'MAX_TOKENS_PER_USER_PER_DAY must be an integer ≥ 0 (0 = no budget)' })
  MAX_TOKENS_PER_USER_PER_DAY = 0;

  /** OpenAI-compatible API base URL (usually ending in `/v1`); set = the `assistant` agent is registered. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'LLM_BASE_URL must be an http:// or https:// URL such as https://api.openai.com/v1' })
  LLM_BASE_URL?: string;

  /** Sent as `Authorization: Bearer …`; local model servers usually need none. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  LLM_API_KEY?: string;

  /** Model name passed to the provider; required with `LLM_BASE_URL`. */
  @Transform(blankToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.LLM_BASE_URL !== undefined || env.LLM_MODEL !== undefined)
  @IsString({ message: 'LLM_MODEL is required when LLM_BASE_URL is set (e.g. gpt-4o-mini, llama3.1)' })
  LLM_MODEL?: string;

  /** System message put before every conversation; unset = none. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  LLM_SYSTEM_PROMPT?: string;

  /** Model calls per run (each tool round trip takes one). @default 8 */
  @Transform(toInt)
  @IsInt({ message: 'LLM_MAX_STEPS must be an integer between 1 and 100' })
  @Min(1, { message: 'LLM_MAX_STEPS must be an integer between 1 and 100' })
  @Max(100, { message: 'LLM_MAX_STEPS must be an integer between 1 and 100' })
  LLM_MAX_STEPS = 8;

  /** How long the provider may stay silent (before its answer starts, and between chunks). @default 60000 */
  @Transform(toInt)
  @IsInt({ message: 'LLM_TIMEOUT_MS must be a positive integer' })
  @Min(1, { message: 'LLM_TIMEOUT_MS must be a positive integer' })
  @Max(2_147_483_647)
  LLM_TIMEOUT_MS = 60_000;

  /** Retries of a model call refused with 408/409/429/5xx or a connection error. @default 2 */
  @Transform(toInt)
  @IsInt({ message: 'LLM_MAX_RETRIES must be an integer between 0 and 10' })
  @Min(0, { message: 'LLM_MAX_RETRIES must be an integer between 0 and 10' })
  @Max(10, { message: 'LLM_MAX_RETRIES must be an integer between 0 and 10' })
  LLM_MAX_RETRIES = 2;

  /** Earlier messages of the thread sent with each run (0 = no memory). @default 20 */
  @Transform(toInt)
  @IsInt({ message: 'LLM_HISTORY_MESSAGES must be an integer between 0 and 1000' })
  @Min(0, { message: 'LLM_HISTORY_MESSAGES must be an integer between 0 and 1000' })
  @Max(1000, { message: 'LLM_HISTORY_MESSAGES must be an integer between 0 and 1000' })
  LLM_HISTORY_MESSAGES = 20;

  /** Most `agent_message_delta` events per second of one run; tokens in between are batched. @default 20 */
  @Transform(toInt)
  @IsInt({ message: 'LLM_MAX_DELTA_EVENTS_PER_SECOND must be an integer between 1 and 1000' })
  @Min(1, { message: 'LLM_MAX_DELTA_EVENTS_PER_SECOND must be an integer between 1 and 1000' })
  @Max(1000, { message: 'LLM_MAX_DELTA_EVENTS_PER_SECOND must be an integer between 1 and 1000' })
  LLM_MAX_DELTA_EVENTS_PER_SECOND = 20;

  /** Comma-separated tools of the `assistant` that need the user's approval before each call. */
  @IsOptional()
  @IsString()
  @Matches(/^\s*([A-Za-z0-9_-]{1,64}\*?\s*(,\s*|$))*$/, {
    message: 'LLM_APPROVAL_TOOLS must be a comma-separated list of tool names, e.g. calculate,send_mail,mcp__orders__*',
  })
  LLM_APPROVAL_TOOLS?: string;

  /** JSON array of MCP servers whose tools the `assistant` may call (`{ name, url, headers? }` or `{ name, command, args?, env? }`). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsJSON({ message: 'LLM_MCP_SERVERS must be a JSON array such as [{"name":"orders","url":"http://localhost:8080/mcp"}]' })
  LLM_MCP_SERVERS?: string;

  /** Serve the agents as MCP tools at `POST /mcp`. @default true */
  @Transform(toBool)
  @IsBoolean({ message: 'MCP_SERVER must be true or false' })
  MCP_SERVER = true;
}
