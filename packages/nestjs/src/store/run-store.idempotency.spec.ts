import { randomUUID } from 'node:crypto';
import { openRunStore } from './run-store.factory';
import type { IdempotencyClaim, NewRun, RunStore } from './run-store.interface';
import { newTestRun, storeBackends, T0 } from './store-backends.spec-support';

/**
 * Idempotency keys in the run store, on a SQLite file and (with TEST_DATABASE_URL) PostgreSQL:
 * a key names one run per user, an expired key is given up to the next run that claims it, and
 * deleting a run frees its key.
 */
const backends = storeBackends('run-store.idempotency.spec', 'idem');

const claim = (key: string, fingerprint = 'f'): IdempotencyClaim => ({ key, fingerprint });
const newRun = (overrides: Partial<NewRun> = {}): NewRun => newTestRun({ leaseUntil: new Date(T0 + 60_000), ...overrides });

describe.each(backends)('$name: idempotency keys', (backend) => {
  let stores: RunStore[] = [];
  let url: string;
  const open = async () => {
    const store = await openRunStore(url);
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    url = await backend.url();
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()));
    stores = [];
  });
  afterAll(() => backend.cleanup());

  it('stores a run with its key once; the key then names it, per user, and only while it is fresh', async () => {
    const store = await open();
    const first = newRun();
    expect(await store.createIdempotentRun({ ...first, idempotency: claim('k', 'one') }, new Date(T0 - 1000))).toBeUndefined();
    const holder = { runId: first.runId, threadId: first.threadId, status: 'running', fingerprint: 'one' };
    // The same key again: nothing stored, the first run answers.
    const second = newRun();
    expect(await store.createIdempotentRun({ ...second, idempotency: claim('k', 'two') }, new Date(T0 - 1000))).toEqual(holder);
    expect(await store.getRun(second.runId)).toBeUndefined();
    expect(await store.findIdempotentRun('alice', 'k', new Date(T0))).toEqual(holder);
    // Another user's equal key is a key of its own.
    expect(await store.findIdempotentRun('bob', 'k', new Date(T0 - 1000))).toBeUndefined();
    const bobs = newRun({ userId: 'bob' });
    expect(await store.createIdempotentRun({ ...bobs, idempotency: claim('k') }, new Date(T0 - 1000))).toBeUndefined();
    // Past its time, a key names nothing, and the next claim takes it from the old run.
    expect(await store.findIdempotentRun('alice', 'k', new Date(T0 + 1))).toBeUndefined();
    const later = newRun({ createdAt: new Date(T0 + 5000) });
    expect(await store.createIdempotentRun({ ...later, idempotency: claim('k', 'three') }, new Date(T0 + 1))).toBeUndefined();
    expect(await store.findIdempotentRun('alice', 'k', new Date(T0 + 1))).toMatchObject({ runId: later.runId, fingerprint: 'three' });
    // The old run itself stays.
    expect(await store.getRun(first.runId)).toMatchObject({ runId: first.runId });
  });

  it('tells the status of the run now', async () => {
    const store = await open();
    const run = newRun();
    await store.createIdempotentRun({ ...run, idempotency: claim('s') }, new Date(T0 - 1));
    await store.appendEvents([
      {
        runId: run.runId,
        threadId: run.threadId,
        seq: 1,
        type: 'agent_started',
        agent: 'echo',
        ts: new Date(T0).toISOString(),
        data: { input: {} },
      },
      {
        runId: run.runId,
        threadId: run.threadId,
        seq: 2,
        type: 'agent_completed',
        agent: 'echo',
        ts: new Date(T0 + 1).toISOString(),
        data: { result: 'ok', durationMs: 1 },
      },
    ]);
    expect(await store.findIdempotentRun('alice', 's', new Date(T0 - 1))).toMatchObject({ status: 'completed' });
  });

  it('frees a key with its run: deleteRun, thread deletion', async () => {
    const store = await open();
    const run = newRun();
    await store.createIdempotentRun({ ...run, idempotency: claim('gone') }, new Date(T0 - 1));
    await store.deleteRun(run.runId);
    expect(await store.findIdempotentRun('alice', 'gone', new Date(T0 - 1))).toBeUndefined();

    const threadId = `t-${randomUUID()}`;
    const onThread = newRun({ threadId });
    expect(await store.withThread('alice', threadId, (tx) => tx.idempotentRun('thread-key', new Date(T0 - 1)))).toBeUndefined();
    await store.withThread('alice', threadId, (tx) => tx.insert({ ...onThread, idempotency: claim('thread-key') }));
    expect(await store.withThread('alice', threadId, (tx) => tx.idempotentRun('thread-key', new Date(T0 - 1)))).toMatchObject({
      runId: onThread.runId,
    });
    await store.withThread('alice', threadId, (tx) => tx.deleteAll());
    expect(await store.findIdempotentRun('alice', 'thread-key', new Date(T0 - 1))).toBeUndefined();
  });

  it('frees the key of a run that retention deletes', async () => {
    const store = await open();
    const run = newRun();
    await store.createIdempotentRun({ ...run, idempotency: claim('pruned') }, new Date(T0 - 1));
    await store.appendEvents([
      {
        runId: run.runId,
        threadId: run.threadId,
        seq: 1,
        type: 'agent_cancelled',
        agent: 'echo',
        ts: new Date(T0).toISOString(),
        data: { reason: 'user' },
      },
    ]);
    expect(await store.pruneFinishedRuns(new Date(T0 + 1000), 10)).toMatchObject({ deleted: 1 });
    expect(await store.findIdempotentRun('alice', 'pruned', new Date(T0 - 1))).toBeUndefined();
    expect(await store.createIdempotentRun({ ...newRun(), idempotency: claim('pruned') }, new Date(T0 - 1))).toBeUndefined();
  });

  it('refuses a second run holding a key (the unique index), even one written around the claim', async () => {
    const store = await open();
    await store.createRun({ ...newRun(), idempotency: claim('u') });
    await expect(store.createRun({ ...newRun(), idempotency: claim('u') })).rejects.toThrow();
    // Runs without a key never collide.
    await store.createRun(newRun());
    await store.createRun(newRun());
  });

  it('racing claims of one key (two stores of one database on PostgreSQL) store exactly one run', async () => {
    // Two SQLite stores of one file in one process would block each other's event loop (better-sqlite3
    // waits synchronously for the file lock): processes, not stores, share a SQLite file.
    const a = await open();
    const b = backend.name === 'PostgreSQL' ? await open() : a;
    const runs = Array.from({ length: 20 }, () => newRun());
    const answers = await Promise.all(
      runs.map((run, i) => (i % 2 ? a : b).createIdempotentRun({ ...run, idempotency: claim('race') }, new Date(T0 - 1))),
    );
    const stored = runs.filter((_, i) => answers[i] === undefined);
    expect(stored).toHaveLength(1);
    expect(new Set(answers.filter(Boolean).map((h) => h!.runId))).toEqual(new Set([stored[0].runId]));
  });
});
