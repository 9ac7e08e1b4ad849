import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { NewRun } from './run-store.interface';

/**
 * The databases the store's specs run against: a SQLite file, and PostgreSQL when
 * `TEST_DATABASE_URL` (or a `postgres://` `DATABASE_URL`) names one. Kept beside the specs (and out
 * of the package's build) because a package's specs may not import test/support
 * (package-boundaries.spec.ts).
 */
export interface StoreBackend {
  name: string;
  /** A fresh, empty database. */
  url(): Promise<string>;
  cleanup(): Promise<void>;
}

/** The PostgreSQL server the specs may use, if any. */
export const postgresTestUrl: string | undefined =
  process.env.TEST_DATABASE_URL ?? (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : undefined);

/** A SQLite file per `url()`, in one temporary directory. */
export function sqliteFiles(prefix: string): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-spec-`));
  let n = 0;
  return {
    name: 'SQLite (file)',
    url: async () => `sqlite:${join(dir, `runs-${++n}.db`)}`,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A schema per `url()`. Those named after the Jest run (TEST_SCHEMA_RUN, set by the global setup)
 * are dropped by the global teardown, once no other file's store may be listing the database's
 * schemas; outside such a run they are dropped by `cleanup()`.
 */
export function postgresSchemas(baseUrl: string, prefix: string): StoreBackend {
  const schemas: string[] = [];
  const run = process.env.TEST_SCHEMA_RUN;
  const admin = async (statements: string[]) => {
    const client = new Client({ connectionString: baseUrl });
    await client.connect();
    for (const statement of statements) await client.query(statement);
    await client.end();
  };
  return {
    name: 'PostgreSQL',
    async url() {
      const schema = `${prefix}_${run ? `${run}_` : ''}${randomBytes(5).toString('hex')}`;
      await admin([`CREATE SCHEMA ${schema}`]);
      schemas.push(schema);
      return `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
    cleanup: async () => (run ? undefined : admin(schemas.map((s) => `DROP SCHEMA IF EXISTS ${s} CASCADE`))),
  };
}

/** The backends of a spec: SQLite always, PostgreSQL when there is one (a warning names the spec otherwise). */
export function storeBackends(spec: string, prefix: string): StoreBackend[] {
  if (!postgresTestUrl) console.warn(`${spec}: PostgreSQL not run (set TEST_DATABASE_URL=postgres://… to run it)`);
  return [sqliteFiles(prefix), ...(postgresTestUrl ? [postgresSchemas(postgresTestUrl, prefix)] : [])];
}

/** The start of the specs' clock. */
export const T0 = Date.UTC(2026, 0, 1);

/** A `running` run of alice's on a thread of its own, leased to node-a for an hour. */
export function newTestRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    runId: randomUUID(),
    threadId: `thread-${randomUUID()}`,
    userId: 'alice',
    agent: 'echo',
    input: { text: 'hi' },
    createdAt: new Date(T0),
    nodeId: 'node-a',
    leaseUntil: new Date(T0 + 3_600_000),
    ...overrides,
  };
}
