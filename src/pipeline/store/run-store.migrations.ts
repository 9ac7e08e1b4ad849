import { Kysely, Migration, MigrationProvider } from 'kysely';

/** Schema history. Append new migrations; never edit a released one. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-27-001-runs-and-events': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('runs')
        .ifNotExists()
        .addColumn('run_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('thread_id', 'varchar(256)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('agent', 'varchar(128)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('finished_at', 'varchar(32)')
        .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('lease_until', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('runs_user_created')
        .ifNotExists()
        .on('runs')
        .columns(['user_id', 'created_at'])
        .execute();
      await db.schema.createIndex('runs_status').ifNotExists().on('runs').columns(['status', 'user_id']).execute();
      await db.schema
        .createIndex('runs_thread')
        .ifNotExists()
        .on('runs')
        .columns(['user_id', 'thread_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('events')
        .ifNotExists()
        .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('envelope', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['run_id', 'seq'])
        .execute();
    },
  },
};

export class InCodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}
