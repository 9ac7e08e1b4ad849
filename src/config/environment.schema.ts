import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const blankToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

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

  /** @default '0.0.0.0' */
  @IsString()
  @MinLength(1)
  HOST = '0.0.0.0';

  /** HS256 secret; unset outside production enables development auth. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters long' })
  JWT_SECRET?: string;

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

  /** @default 'info' */
  @IsIn(['debug', 'info', 'warn', 'error'], { message: 'LOG_LEVEL must be one of debug, info, warn, error' })
  LOG_LEVEL: 'debug' | 'info' | 'warn' | 'error' = 'info';

  /** Scale-out: how long a node's lease on its runs lasts without renewal. @default 30000 */
  @Transform(toInt)
  @IsInt({ message: 'RUN_LEASE_MS must be a positive integer' })
  @Min(100)
  RUN_LEASE_MS = 30_000;

  /** How long a disconnected socket's missed events are kept for connection state recovery. @default 120000 */
  @Transform(toInt)
  @IsInt({ message: 'SOCKET_RECOVERY_MS must be an integer >= 0' })
  @Min(0)
  SOCKET_RECOVERY_MS = 120_000;
}
