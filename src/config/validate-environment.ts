import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AppConfig } from './app.config';
import { EnvironmentVariables } from './environment.schema';
import { parseJwtAuth } from './jwt-auth.settings';
import { parseTracingSettings } from '../observability/tracing/tracing.settings';

/** Key under which the validated {@link AppConfig} is kept in `ConfigService`. */
export const APP_CONFIG_KEY = 'app';

/**
 * Validates the environment and returns `{ app: AppConfig }`. Throws one error listing every bad
 * variable, so a misconfigured server stops at once with a message that says what to fix.
 */
export function validateEnvironment(raw: Record<string, unknown>): { [APP_CONFIG_KEY]: AppConfig } {
  const known = new Set(
    Object.keys(new EnvironmentVariables()).concat([
      'NODE_ENV',
      'JWT_SECRET',
      'JWT_JWKS_URL',
      'JWT_PUBLIC_KEY',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'JWT_ALGORITHMS',
      'REDIS_URL',
      'CORS_ORIGINS',
      'LLM_BASE_URL',
      'LLM_API_KEY',
      'LLM_MODEL',
      'LLM_SYSTEM_PROMPT',
    ]),
  );
  const picked = Object.fromEntries(Object.entries(raw).filter(([k, v]) => known.has(k) && v !== undefined));
  const env = plainToInstance(EnvironmentVariables, picked, { exposeDefaultValues: true });
  const problems = validateSync(env, { skipMissingProperties: false }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((m) => `  - ${m} (got '${mask(e.property, raw[e.property])}')`),
  );
  // What only shows up when the JWT_* variables are taken together (a secret next to a JWKS URL, …).
  const jwt = parseJwtAuth(env);
  problems.push(...jwt.problems.map((m) => `  - ${m}`));
  const tracing = parseTracingSettings(raw);
  problems.push(...tracing.problems.map((m) => `  - ${m}`));
  if (problems.length > 0 || !jwt.auth || !jwt.mode) {
    throw new Error(`Invalid configuration:\n${problems.join('\n')}\nSee the Configuration section of the README.`);
  }
  // Returned as one object value: @nestjs/config copies only scalar values back into process.env.
  return { [APP_CONFIG_KEY]: new AppConfig(env, jwt.auth, jwt.mode, tracing.settings) };
}

function mask(key: string, value: unknown): string {
  if (value === undefined) return '';
  // LLM_MCP_SERVERS holds the servers' headers, which often carry their tokens.
  return key === 'JWT_SECRET' || key === 'LLM_MCP_SERVERS' || key.endsWith('_URL') || key.endsWith('_KEY') ? '***' : String(value);
}
