import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AppConfig } from './app.config';
import { EnvironmentVariables } from './environment.schema';

/** Key under which the validated {@link AppConfig} is kept in `ConfigService`. */
export const APP_CONFIG_KEY = 'app';

/**
 * Validates the environment and returns `{ app: AppConfig }`. Throws one error listing every bad
 * variable, so a misconfigured server stops at once with a message that says what to fix.
 */
export function validateEnvironment(raw: Record<string, unknown>): { [APP_CONFIG_KEY]: AppConfig } {
  const known = new Set(Object.keys(new EnvironmentVariables()).concat([
    'NODE_ENV',
    'JWT_SECRET',
    'REDIS_URL',
    'CORS_ORIGINS',
    'LLM_BASE_URL',
    'LLM_API_KEY',
    'LLM_MODEL',
    'LLM_SYSTEM_PROMPT',
  ]));
  const picked = Object.fromEntries(Object.entries(raw).filter(([k, v]) => known.has(k) && v !== undefined));
  const env = plainToInstance(EnvironmentVariables, picked, { exposeDefaultValues: true });
  const problems = validateSync(env, { skipMissingProperties: false }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((m) => `  - ${m} (got '${mask(e.property, raw[e.property])}')`),
  );
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    problems.push('  - JWT_SECRET is required when NODE_ENV=production (development auth is refused in production)');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid configuration:\n${problems.join('\n')}\nSee the Configuration section of the README.`);
  }
  // Returned as one object value: @nestjs/config copies only scalar values back into process.env.
  return { [APP_CONFIG_KEY]: new AppConfig(env) };
}

function mask(key: string, value: unknown): string {
  if (value === undefined) return '';
  return key === 'JWT_SECRET' || key.endsWith('_URL') || key.endsWith('_KEY') ? '***' : String(value);
}
