import { dropRunSchemas, postgresUrl, TEST_SCHEMA_RUN_VARIABLE } from './shared-services';

/**
 * Jest `globalTeardown`: drops the PostgreSQL schemas the run's test files made. They are kept
 * until every file is done, because a schema dropped while another file's store introspects the
 * database fails that file (see `TestSchema.drop`).
 */
export default async function globalTeardown(): Promise<void> {
  const url = postgresUrl();
  const run = process.env[TEST_SCHEMA_RUN_VARIABLE];
  if (!url || !run) return;
  await dropRunSchemas(url, run);
}
