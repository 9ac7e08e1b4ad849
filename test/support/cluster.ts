import { startServerProcess, stopAllServerProcesses, type ServerProcess, type StartServerOptions } from './server-process';
import { createTestSchema, postgresUrl, redisUrl, type TestSchema } from './shared-services';

/** Why the cluster specs cannot run here ('' when PostgreSQL and Redis are both given). */
export const CLUSTER_SKIP_REASON =
  postgresUrl() && redisUrl()
    ? ''
    : 'skipped: needs PostgreSQL and Redis (set TEST_DATABASE_URL=postgres://… and TEST_REDIS_URL=redis://…; CI does)';

/**
 * `describe` for specs that need PostgreSQL and Redis. Without them the block is skipped and says
 * why, in its title and in a warning (CI sets both, so nothing is skipped there).
 */
export function describeCluster(title: string, body: () => void): void {
  if (CLUSTER_SKIP_REASON) console.warn(`${title}: ${CLUSTER_SKIP_REASON}`);
  const run = CLUSTER_SKIP_REASON ? describe.skip : describe;
  run(CLUSTER_SKIP_REASON ? `${title} (${CLUSTER_SKIP_REASON})` : title, body);
}

/** Two server processes (`node dist/main.js`) sharing a fresh PostgreSQL schema and Redis. */
export interface TwoNodes {
  a: ServerProcess;
  b: ServerProcess;
  schema: TestSchema;
  /** The settings both were started with, for starting a third node like them. */
  env: Record<string, string>;
  /** Stops every server process of the file and drops the schema. */
  stop(): Promise<void>;
}

/** Starts {@link TwoNodes} with `settings` on top of the shared `DATABASE_URL` and `REDIS_URL`. */
export async function startTwoNodes(
  schemaPrefix: string,
  settings: Record<string, string> = {},
  options: StartServerOptions = {},
): Promise<TwoNodes> {
  const schema = await createTestSchema(postgresUrl()!, schemaPrefix);
  const env = { DATABASE_URL: schema.url, REDIS_URL: redisUrl()!, ...settings };
  const a = await startServerProcess(env, options);
  const b = await startServerProcess(env, options);
  return {
    a,
    b,
    schema,
    env,
    async stop() {
      await stopAllServerProcesses();
      await schema.drop();
    },
  };
}
