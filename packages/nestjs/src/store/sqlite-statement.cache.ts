import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept prepared; the store issues a few dozen shapes. */
const MAX_STATEMENTS = 500;

/**
 * A better-sqlite3 database for Kysely's SqliteDialect that keeps statements prepared. Kysely
 * prepares every query anew, and preparing costs more than running the small statements of a
 * run; the store's SQL comes from a handful of query shapes, so a bounded cache by SQL text hits
 * almost always.
 */
export function withStatementCache(database: Database): SqliteDatabase {
  const statements = new Map<string, Statement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value as string);
        statements.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}
