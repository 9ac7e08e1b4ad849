import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewRun } from '../../packages/nestjs/src/store/run-store.interface';
import { createTestSchema, postgresUrl, type TestSchema } from './shared-services';

/** A database a store spec runs against: each `url()` names a fresh, empty one. */
export interface StoreBackend {
  name: 'SQLite (file)' | 'PostgreSQL';
  url(): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A SQLite file per `url()` and, when TEST_DATABASE_URL (or a postgres DATABASE_URL) names a
 * server, a PostgreSQL schema per `url()` (see `createTestSchema`). Without a server the spec
 * says so on the console and runs on SQLite alone.
 */
export function storeBackends(spec: string): StoreBackend[] {
  const postgres = postgresUrl();
  if (!postgres) console.warn(`${spec}: PostgreSQL not run (set TEST_DATABASE_URL=postgres://… to run it)`);
  return [sqliteFiles(spec), ...(postgres ? [postgresSchemas(postgres, spec)] : [])];
}

function sqliteFiles(spec: string): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), `${spec.replace(/\W+/g, '-')}-`));
  let n = 0;
  return {
    name: 'SQLite (file)',
    url: async () => `sqlite:${join(dir, `runs-${++n}.db`)}`,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresSchemas(baseUrl: string, spec: string): StoreBackend {
  const schemas: TestSchema[] = [];
  const prefix = spec.replace(/\W+/g, '_').slice(0, 24);
  return {
    name: 'PostgreSQL',
    async url() {
      const schema = await createTestSchema(baseUrl, prefix);
      schemas.push(schema);
      return schema.url;
    },
    cleanup: async () => void (await Promise.all(schemas.map((s) => s.drop()))),
  };
}

/** The creation time of {@link storeTestRun}'s runs. */
export const STORE_T0 = Date.UTC(2026, 0, 1);

/** A new `running` run of alice's, on a thread of its own, leased for an hour from {@link STORE_T0}. */
export function storeTestRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    runId: randomUUID(),
    threadId: `thread-${randomUUID()}`,
    userId: 'alice',
    agent: 'echo',
    input: { text: 'hi' },
    createdAt: new Date(STORE_T0),
    nodeId: 'node-a',
    leaseUntil: new Date(STORE_T0 + 3_600_000),
    ...overrides,
  };
}
