import type { AgentEventDataMap, AgentEventEnvelope, AgentEventType } from '@agent-pipeline/protocol';
import { resolvePipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from './event-write.buffer';
import { BufferedRunStore } from './run-store.buffered';
import { openRunStore } from './run-store.factory';
import type { NewRun, RunStore, WriteBatch } from './run-store.interface';
import { newTestRun, storeBackends, T0 } from './store-backends.spec-support';

/**
 * Reads through `RUN_STORE` see what the write buffer holds and has not written yet, for every
 * kind of read it routes: on a SQLite file and (with TEST_DATABASE_URL) PostgreSQL. Each test
 * first checks that the database alone does not see the buffered write, so it shows the store
 * writing it, not the buffer having flushed by itself (its interval is a minute here).
 */
const backends = storeBackends('run-store.buffered.spec', 'buffered');

const newRun = newTestRun;

function event<T extends AgentEventType>(run: NewRun, seq: number, type: T, data: AgentEventDataMap[T]): AgentEventEnvelope<T> {
  return { runId: run.runId, threadId: run.threadId, seq, type, agent: run.agent, ts: new Date(T0 + seq).toISOString(), data };
}

const thinking = (run: NewRun, seq: number) => event(run, seq, 'agent_thinking', { thought: `step ${seq}`, step: seq });
const completed = (run: NewRun, seq: number) => event(run, seq, 'agent_completed', { result: 'done', durationMs: 1 });

describe.each(backends)('BufferedRunStore on $name', (backend) => {
  /** The database's own store: what it reads is what has been written. */
  let db: RunStore;
  let buffer: EventWriteBuffer;
  /** What `RUN_STORE` is. */
  let store: BufferedRunStore;

  beforeEach(async () => {
    db = await openRunStore(await backend.url());
    // Only an explicit flush (or a read of the store) writes within a test.
    buffer = new EventWriteBuffer(db, resolvePipelineOptions({ auth: { development: true }, storeFlushIntervalMs: 60_000 }));
    store = new BufferedRunStore(db, buffer);
  });

  afterEach(async () => {
    // Nothing left for the buffer's timer to write, later in this worker, to a closed store.
    await buffer.flush();
    await db.close();
  });
  afterAll(() => backend.cleanup());

  /** A run appended to the buffer and not written: the database does not know it yet. */
  async function buffered(overrides: Partial<NewRun> = {}): Promise<NewRun> {
    const run = newRun(overrides);
    buffer.appendRun(run);
    await expect(db.getRun(run.runId)).resolves.toBeUndefined();
    return run;
  }

  /** A stored run with these events appended to the buffer and not written. */
  async function withBufferedEvents(...events: ((run: NewRun) => AgentEventEnvelope)[]): Promise<NewRun> {
    const run = newRun();
    await db.createRun(run);
    for (const make of events) buffer.append(make(run));
    await expect(db.getEvents(run.runId, 0)).resolves.toEqual([]);
    return run;
  }

  describe('reads of runs see a buffered run', () => {
    it('getRun, listRuns, threadRuns, listThreads', async () => {
      const run = await buffered();
      await expect(store.getRun(run.runId)).resolves.toMatchObject({ runId: run.runId, status: 'running' });
      const other = await buffered();
      expect((await store.listRuns('alice', { limit: 10 })).map((r) => r.runId).sort()).toEqual([run.runId, other.runId].sort());
      const third = await buffered();
      expect((await store.threadRuns('alice', third.threadId)).map((r) => r.runId)).toEqual([third.runId]);
      const fourth = await buffered();
      expect((await store.listThreads('alice', { limit: 10 })).map((t) => t.threadId)).toContain(fourth.threadId);
    });

    it('countRunning and threadInFlight', async () => {
      await buffered();
      await expect(store.countRunning('alice')).resolves.toBe(1);
      const run = await buffered();
      expect((await store.threadInFlight('alice', run.threadId)).map((r) => r.runId)).toEqual([run.runId]);
    });

    it('resumableRuns, claimRun and releaseLeases (a durable run)', async () => {
      const run = await buffered({ durable: true });
      const [resumable] = await store.resumableRuns({ kind: 'run', runId: run.runId });
      expect(resumable).toMatchObject({ runId: run.runId, status: 'running' });

      const claimed = await buffered({ durable: true });
      const lease = { runId: claimed.runId, nodeId: 'node-a', leaseUntil: claimed.leaseUntil.toISOString() };
      await expect(store.claimRun(lease, 'node-b', new Date(T0 + 7_200_000))).resolves.toBe(true);

      const released = await buffered({ durable: true });
      await store.releaseLeases('node-a', [released.runId]);
      const [after] = await db.resumableRuns({ kind: 'run', runId: released.runId });
      expect(after.leaseUntil).toBe('1970-01-01T00:00:00.000Z');
    });

    it('recordUsage adds to a buffered run', async () => {
      const run = await buffered();
      await store.recordUsage({
        runId: run.runId,
        userId: 'alice',
        agent: 'echo',
        model: 'm',
        day: '2026-01-01',
        inputTokens: 3,
        outputTokens: 4,
        newRun: true,
      });
      await expect(db.getRun(run.runId)).resolves.toMatchObject({ usage: { inputTokens: 3, outputTokens: 4 } });
    });

    it('withThread: a transaction sees the buffered run and the user count', async () => {
      const run = await buffered();
      const seen = await store.withThread('alice', run.threadId, async (tx) => ({
        inFlight: (await tx.inFlight()).map((r) => r.runId),
        executing: await tx.countExecuting(),
      }));
      expect(seen).toEqual({ inFlight: [run.runId], executing: 1 });
    });

    it('deleteRun takes a buffered run back: nothing of it is written later', async () => {
      const run = await buffered();
      buffer.append(thinking(run, 1));
      await store.deleteRun(run.runId);
      await buffer.flush();
      await expect(db.getRun(run.runId)).resolves.toBeUndefined();
      await expect(db.getEvents(run.runId, 0)).resolves.toEqual([]);
    });
  });

  describe('reads of events see buffered events', () => {
    it('getEvents and getEventsOfType', async () => {
      const run = await withBufferedEvents(
        (r) => thinking(r, 1),
        (r) => thinking(r, 2),
      );
      expect((await store.getEvents(run.runId, 0)).map((e) => e.seq)).toEqual([1, 2]);
      const typed = await withBufferedEvents((r) => thinking(r, 1));
      expect((await store.getEventsOfType(typed.runId, 'agent_thinking')).map((e) => e.seq)).toEqual([1]);
    });

    it('getSteps sees a buffered step', async () => {
      const run = newRun({ durable: true });
      await db.createRun(run);
      buffer.appendStep({ runId: run.runId, name: 'fetch', seq: 0, thinkingStep: 0, result: '1' });
      await expect(db.getSteps(run.runId)).resolves.toEqual([]);
      await expect(store.getSteps(run.runId)).resolves.toMatchObject([{ name: 'fetch', result: '1' }]);
    });

    it('endRun and interruptRuns store their ending after the buffered events', async () => {
      const ended = await withBufferedEvents(
        (r) => thinking(r, 1),
        (r) => thinking(r, 2),
      );
      const stop = await store.endRun(ended.runId, 'node-a', { type: 'agent_cancelled', data: { reason: 'gone' } });
      expect(stop?.event.seq).toBe(3);
      expect((await db.getEvents(ended.runId, 0)).map((e) => e.type)).toEqual(['agent_thinking', 'agent_thinking', 'agent_cancelled']);

      const interrupted = await withBufferedEvents((r) => thinking(r, 1));
      const [marked] = await store.interruptRuns({ kind: 'node', nodeId: 'node-a' });
      expect(marked.event).toMatchObject({ runId: interrupted.runId, seq: 2, type: 'agent_error' });
    });

    it('withThread: a run whose terminal event is buffered is no longer in flight', async () => {
      const run = await withBufferedEvents(
        (r) => thinking(r, 1),
        (r) => completed(r, 2),
      );
      await expect(db.threadInFlight('alice', run.threadId)).resolves.toHaveLength(1);
      await expect(store.withThread('alice', run.threadId, (tx) => tx.inFlight())).resolves.toEqual([]);
    });
  });

  it('a read waits for a write already under way (its batch is no longer pending, not yet stored)', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const write = db.write.bind(db);
    db.write = async (batch: WriteBatch) => {
      await gate;
      return write(batch);
    };
    const run = await buffered();
    const flushed = buffer.flush();
    // The flush has taken the batch and waits at the gate.
    await new Promise((resolve) => setImmediate(resolve));
    const read = store.getRun(run.runId);
    open();
    await flushed;
    await expect(read).resolves.toMatchObject({ runId: run.runId });
  });

  it('reads with nothing buffered go straight to the database: no write', async () => {
    const run = newRun();
    await db.createRun(run);
    const writes: WriteBatch[] = [];
    const write = db.write.bind(db);
    db.write = (batch: WriteBatch) => {
      writes.push(batch);
      return write(batch);
    };
    await store.getRun(run.runId);
    await store.getEvents(run.runId, 0);
    await store.withThread('alice', run.threadId, (tx) => tx.inFlight());
    expect(writes).toEqual([]);
    // A buffered event of a run that goes on is no reason for a run read to write.
    buffer.append(thinking(run, 1));
    await store.getRun(run.runId);
    await store.withThread('alice', run.threadId, (tx) => tx.inFlight());
    expect(writes).toEqual([]);
  });
});
