import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { PipelineDatabase } from './run-store.schema';
import { KyselyRunStore } from './run-store.kysely';
import { requireOptionalPeer } from '../peers/optional-peer';
import { SqliteCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './sqlite.checkpointer';
import { withStatementCache } from './sqlite-statement.cache';
import type { RunStore } from './run-store.interface';

/** Which database a `DATABASE_URL` names. */
export type StoreTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; connectionString: string };

/** Parses `sqlite:<path>`, `sqlite::memory:` and `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): StoreTarget {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (!filename) throw new Error(`DATABASE_URL '${url}' names no file. Use sqlite:<path> or sqlite::memory:.`);
    return { kind: 'sqlite', filename };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', connectionString: url };
  throw new Error(
    `DATABASE_URL '${maskCredentials(url)}' is not supported. Use sqlite:<path>, sqlite::memory: or postgres://user@host/db.`,
  );
}

/** Hides user info and `password=` parameters, so that an error message never leaks a secret. */
function maskCredentials(url: string): string {
  // Greedy up to the last '@': a password may hold an unencoded '@' (or '/').
  return url.replace(/\/\/.*@/, '//***@').replace(/(password=)[^&#]*/gi, '$1***');
}

/** Opens (and migrates) the store a `DATABASE_URL` names. */
export async function openRunStore(url: string): Promise<RunStore> {
  const target = parseDatabaseUrl(url);
  const store =
    target.kind === 'sqlite'
      ? sqliteStore(target.filename)
      : new KyselyRunStore(await openPostgres(target.connectionString), { dialect: 'postgres' });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

function sqliteStore(filename: string): KyselyRunStore {
  // Loaded lazily so that a PostgreSQL deployment never needs the native SQLite addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const memory = filename === ':memory:';
  if (!memory) mkdirSync(dirname(resolve(filename)), { recursive: true });
  const database = new Database(memory ? ':memory:' : resolve(filename));
  let checkpointer: SqliteCheckpointer | undefined;
  if (!memory) {
    // Retention frees pages; with incremental auto-vacuum they can go back to the file system a few
    // at a time (RunStore.reclaimSpace). SQLite takes this only before the first table exists, so a
    // file made by an older release keeps `none` and reuses its free pages instead.
    database.pragma('auto_vacuum = INCREMENTAL');
    // WAL: readers never wait for the batched writer; NORMAL sync is durable across process crashes.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // Checkpoints (and their fsync) run on a thread of their own, not inside commits on the event loop.
    database.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    const logger = new Logger('RunStore');
    checkpointer = SqliteCheckpointer.start(database.name, (message) =>
      logger.warn(`WAL checkpoint failed (the writer checkpoints by itself after ${WRITER_AUTOCHECKPOINT_PAGES} pages): ${message}`),
    );
  }
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<PipelineDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return new KyselyRunStore(db, { dialect: 'sqlite', sqlite: database, checkpointer });
}

async function openPostgres(connectionString: string): Promise<Kysely<PipelineDatabase>> {
  const { Pool } = requireOptionalPeer<typeof import('pg')>('pg', 'databaseUrl postgres://…');
  const pool = new Pool({ connectionString, max: 10 });
  // A client losing its connection must not crash the process: the pool reports idle clients
  // here and replaces them. A client checked out at that moment (mid-write) emits 'error' on
  // itself, where pg has no listener; its query fails on its own and the writer retries.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<PipelineDatabase>({ dialect: new PostgresDialect({ pool }) });
}
