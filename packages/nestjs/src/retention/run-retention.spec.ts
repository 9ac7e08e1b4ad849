import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { resolvePipelineOptions, type ResolvedPipelineOptions } from '../pipeline.options';
import { openRunStore } from '../store/run-store.factory';
import { RunDeletionHooks, type RunDeletionReason } from '../store/run-deletion.hooks';
import type { NewRun, RunStore } from '../store/run-store.interface';
import { RunRetention } from './run-retention.service';

const TEST_OPTIONS: ResolvedPipelineOptions = resolvePipelineOptions({ auth: { development: true } });

/**
 * Retention with a controllable clock (`prune(now)`), on a SQLite file and, when TEST_DATABASE_URL
 * names a server, PostgreSQL: exactly the runs finished more than RUN_RETENTION_DAYS before `now`
 * go, with their events, in batches; nothing in flight; nothing at all with retention off.
 */
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

interface Target {
  name: string;
  url(): Promise<string>;
  cleanup(): Promise<void>;
}

const targets: Target[] = [];
{
  let dir = '';
  let n = 0;
  targets.push({
    name: 'SQLite file',
    url: async () => {
      dir ||= mkdtempSync(join(tmpdir(), 'retention-spec-'));
      return `sqlite:${join(dir, `r${++n}.db`)}`;
    },
    cleanup: async () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  });
}
const pgUrl = process.env.TEST_DATABASE_URL ?? (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : undefined);
if (pgUrl) {
  const schemas: string[] = [];
  targets.push({
    name: 'PostgreSQL',
    url: async () => {
      const schema = `retention_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
      const admin = new Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      schemas.push(schema);
      return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
    cleanup: async () => {
      const admin = new Client({ connectionString: pgUrl });
      await admin.connect();
      for (const s of schemas) await admin.query(`drop schema if exists ${s} cascade`);
      await admin.end();
    },
  });
}

describe.each(targets)('run retention ($name)', (target) => {
  let store: RunStore;
  let url: string;
  const stores: RunStore[] = [];
  const deletions: Array<[number, RunDeletionReason]> = [];
  let hooks: RunDeletionHooks;

  const options = (overrides: Partial<ResolvedPipelineOptions>): ResolvedPipelineOptions => ({
    ...TEST_OPTIONS,
    retentionBatchPauseMs: 0,
    ...overrides,
  });

  async function open(): Promise<RunStore> {
    const s = await openRunStore(url);
    stores.push(s);
    return s;
  }

  /** A run created a minute before it finished, `finishedAt` ms after T0, with 3 events. */
  async function finished(finishedAt: number): Promise<NewRun> {
    const run: NewRun = {
      runId: randomUUID(),
      threadId: randomUUID(),
      userId: 'keeper',
      agent: 'echo',
      input: { text: 'x' },
      createdAt: new Date(T0 + finishedAt - 60_000),
      nodeId: 'n',
      leaseUntil: new Date(T0),
    };
    await store.createRun(run);
    const base = { runId: run.runId, threadId: run.threadId, agent: 'echo', ts: new Date(T0 + finishedAt).toISOString() };
    await store.appendEvents([
      { ...base, seq: 1, type: 'agent_started', data: { input: run.input } },
      { ...base, seq: 2, type: 'agent_message_delta', data: { messageId: 'm', delta: 'x' } },
      { ...base, seq: 3, type: 'agent_completed', data: { result: 'x', durationMs: 1 } },
    ]);
    return run;
  }

  beforeEach(async () => {
    url = await target.url();
    store = await open();
    deletions.length = 0;
    hooks = new RunDeletionHooks();
    hooks.observe((count, reason) => deletions.push([count, reason]));
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(() => target.cleanup());

  it('deletes exactly the runs finished more than RUN_RETENTION_DAYS before now, in batches, and counts them', async () => {
    const old = [];
    for (let i = 0; i < 7; i++) old.push(await finished(9 * DAY + i));
    const young = await finished(11 * DAY);
    const inFlight: NewRun = { ...(await finished(0)), runId: randomUUID() };
    await store.createRun({ ...inFlight, createdAt: new Date(T0 - 100 * DAY) });
    const retention = new RunRetention(store, options({ runRetentionDays: 30, retentionBatchSize: 3 }), hooks);

    const now = new Date(T0 + 40 * DAY); // cutoff: T0 + 10 days
    const pass = await retention.prune(now);
    expect(pass).toMatchObject({ deleted: 8, batches: 3, lockedElsewhere: false });
    expect(deletions).toEqual([
      [3, 'retention'],
      [3, 'retention'],
      [2, 'retention'],
    ]);
    for (const run of old) {
      expect(await store.getRun(run.runId)).toBeUndefined();
      expect(await store.getEvents(run.runId, 0)).toEqual([]);
    }
    expect(await store.getRun(young.runId)).toMatchObject({ status: 'completed', lastSeq: 3 });
    expect(await store.getRun(inFlight.runId)).toMatchObject({ status: 'running' });

    // A day later by the clock, the young run's turn comes; the run in flight stays.
    expect(await retention.prune(new Date(T0 + 41 * DAY + 1))).toMatchObject({ deleted: 1 });
    expect(await store.getRun(young.runId)).toBeUndefined();
    expect(await store.getRun(inFlight.runId)).toBeDefined();
  });

  it('deletes nothing with RUN_RETENTION_DAYS=0 (the default), however old the runs', async () => {
    const ancient = await finished(0);
    const retention = new RunRetention(store, options({}), hooks);
    expect(await retention.prune(new Date(T0 + 10_000 * DAY))).toMatchObject({ deleted: 0, batches: 0 });
    expect(await store.getRun(ancient.runId)).toBeDefined();
    expect(deletions).toEqual([]);
  });

  it('several nodes pruning at once delete each run once, without errors', async () => {
    for (let i = 0; i < 20; i++) await finished(i);
    // PostgreSQL: three stores (three pools, like three nodes). A SQLite file serves one node: one
    // store, and three retention services on it (a second process would wait on the file lock).
    const shared = target.name === 'PostgreSQL' ? [store, await open(), await open()] : [store, store, store];
    const nodes = shared.map((s) => new RunRetention(s, options({ runRetentionDays: 1, retentionBatchSize: 2 }), hooks));
    const passes = await Promise.all(nodes.map((r) => r.prune(new Date(T0 + 10 * DAY))));
    expect(passes.reduce((sum, p) => sum + p.deleted, 0)).toBe(20);
    expect(deletions.reduce((sum, [count]) => sum + count, 0)).toBe(20);
    expect(await store.listRuns('keeper', { limit: 100 })).toEqual([]);
  });
});

describe('run retention start-up', () => {
  const store = {} as RunStore;
  let logged: string[];
  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void logged.push(String(message)));
  });
  afterEach(() => jest.restoreAllMocks());

  it('states the retention in the start-up log: off by default, else the days and the schedule', async () => {
    const off = new RunRetention(store, { ...TEST_OPTIONS }, new RunDeletionHooks());
    off.onApplicationBootstrap();
    await off.beforeApplicationShutdown();
    const on = new RunRetention(store, { ...TEST_OPTIONS, runRetentionDays: 30 }, new RunDeletionHooks());
    on.onApplicationBootstrap();
    await on.beforeApplicationShutdown();
    expect(logged).toEqual([
      expect.stringContaining('off (RUN_RETENTION_DAYS=0)'),
      expect.stringMatching(/older than 30 day\(s\) are deleted .*RUN_RETENTION_DAYS=30.*every 60 min in batches of 100/),
    ]);
  });
});
