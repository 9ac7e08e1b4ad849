import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';

/** The PostgreSQL server tests may use: TEST_DATABASE_URL, or DATABASE_URL when it is postgres. */
export function postgresUrl(): string | undefined {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  const url = process.env.DATABASE_URL;
  return url && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
}

/** The Redis server tests may use: TEST_REDIS_URL or REDIS_URL. */
export function redisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || process.env.REDIS_URL || undefined;
}

/** A PostgreSQL schema of one test file's own, so files sharing the database never see each other's runs. */
export interface TestSchema {
  /** The server URL with `search_path` set to the schema. */
  url: string;
  /**
   * Drops the schema; within a Jest run, only at its end (`global-teardown.ts`): a schema dropped
   * while another file's store introspects the database (Kysely's migrator lists every schema)
   * fails that file with "schema … does not exist".
   */
  drop(): Promise<void>;
}

/** Names the schemas of one Jest run (set by `global-setup.ts`), so its teardown finds them all. */
export const TEST_SCHEMA_RUN_VARIABLE = 'TEST_SCHEMA_RUN';

export async function createTestSchema(baseUrl: string, prefix: string): Promise<TestSchema> {
  const run = process.env[TEST_SCHEMA_RUN_VARIABLE];
  const schema = `${prefix}_${run ? `${run}_` : ''}${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ connectionString: baseUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const separator = baseUrl.includes('?') ? '&' : '?';
  return {
    url: `${baseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      if (!run) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** Drops every schema made during the Jest run `run` (its global teardown). */
export async function dropRunSchemas(baseUrl: string, run: string): Promise<number> {
  const admin = new Pool({ connectionString: baseUrl, max: 1 });
  try {
    const { rows } = await admin.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`%\\_${run}\\_%`]);
    for (const { nspname } of rows) await admin.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    return rows.length;
  } finally {
    await admin.end();
  }
}

/** A random suffix for user ids, so test files sharing one Redis never share a user's room. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}
