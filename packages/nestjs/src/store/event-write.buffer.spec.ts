import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { resolvePipelineOptions, type ResolvedPipelineOptions } from '../pipeline.options';
import { EventWriteBuffer } from './event-write.buffer';
import type { NewRun, WriteBatch } from './run-store.interface';
import { KyselyRunStore } from './run-store.kysely';
import type { PipelineDatabase } from './run-store.schema';

const TEST_OPTIONS: ResolvedPipelineOptions = resolvePipelineOptions({ auth: { development: true } });

/**
 * A real SQLite store with fault injection around `appendEvents`: it records every batch it is
 * given, can hold writes at a gate, can fail before writing, or can fail after the write committed
 * (as when the acknowledgement is lost).
 */
class ScriptedStore extends KyselyRunStore {
  /** The seqs of the events of each `write` call, in call order. */
  readonly batches: number[][] = [];
  maxInFlight = 0;
  failBeforeWrite = 0;
  failAfterWrite = 0;
  gate: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor() {
    super(new Kysely<PipelineDatabase>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) }));
  }

  override async write(batch: WriteBatch): Promise<void> {
    const events = batch.events;
    this.batches.push(events.map((e) => e.seq));
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.gate;
      if (this.failBeforeWrite > 0) {
        this.failBeforeWrite--;
        throw new Error('disk full');
      }
      await super.write(batch);
      if (this.failAfterWrite > 0) {
        this.failAfterWrite--;
        throw new Error('connection lost after commit');
      }
    } finally {
      this.inFlight--;
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls until `check` holds; the generous timeout only bounds a failing test. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

const T0 = Date.UTC(2026, 0, 1);
let counter = 0;

function newRun(): NewRun {
  const n = ++counter;
  return {
    runId: `buffer-run-${n}`,
    threadId: `thread-${n}`,
    userId: 'alice',
    agent: 'echo',
    input: { text: 'hi' },
    createdAt: new Date(T0 + n),
    nodeId: 'node-a',
    leaseUntil: new Date(T0 + 3_600_000),
  };
}

function thinking(run: NewRun, seq: number): AgentEventEnvelope {
  return {
    runId: run.runId,
    threadId: run.threadId,
    seq,
    type: 'agent_thinking',
    agent: run.agent,
    ts: new Date(T0 + seq).toISOString(),
    data: { thought: `step ${seq}`, step: seq },
  };
}

function completed(run: NewRun, seq: number): AgentEventEnvelope {
  return {
    runId: run.runId,
    threadId: run.threadId,
    seq,
    type: 'agent_completed',
    agent: run.agent,
    ts: new Date(T0 + seq).toISOString(),
    data: { result: 'done', durationMs: seq },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventWriteBuffer', () => {
  let store: ScriptedStore;
  let buffer: EventWriteBuffer;
  let run: NewRun;
  let loggedErrors: jest.SpyInstance;

  function build(options: Partial<ResolvedPipelineOptions> = {}): EventWriteBuffer {
    // A long interval by default, so that only an explicit flush writes.
    return new EventWriteBuffer(store, { ...TEST_OPTIONS, storeFlushIntervalMs: 60_000, ...options });
  }

  function append(...seqs: number[]): void {
    for (const seq of seqs) buffer.append(thinking(run, seq));
  }

  async function storedSeqs(runId = run.runId): Promise<number[]> {
    return (await store.getEvents(runId, 0)).map((e) => e.seq);
  }

  beforeEach(async () => {
    loggedErrors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    store = new ScriptedStore();
    await store.migrate();
    run = newRun();
    await store.createRun(run);
    buffer = build();
  });

  afterEach(async () => {
    // Clears any timer the buffer still holds.
    await buffer.flush().catch(() => undefined);
    await store.close();
    loggedErrors.mockRestore();
  });

  it('does not write on append; flush writes', async () => {
    append(1, 2, 3);
    await tick();
    await new Promise((r) => setTimeout(r, 50));

    expect(buffer.pendingCount).toBe(3);
    expect(store.batches).toEqual([]);
    expect(await storedSeqs()).toEqual([]);

    await buffer.flush();
    expect(buffer.pendingCount).toBe(0);
    expect(store.batches).toEqual([[1, 2, 3]]);
    expect(await storedSeqs()).toEqual([1, 2, 3]);
  });

  it('writes on its own, in one batch, after storeFlushIntervalMs', async () => {
    buffer = build({ storeFlushIntervalMs: 20 });
    append(1, 2, 3);
    expect(store.batches).toEqual([]);

    await waitFor(async () => (await storedSeqs()).length === 3);
    expect(store.batches).toEqual([[1, 2, 3]]);
    expect(buffer.pendingCount).toBe(0);
  });

  it('flush writes everything appended, in append order, and returns the events unchanged', async () => {
    const other = newRun();
    await store.createRun(other);
    const appended: AgentEventEnvelope[] = [];
    for (const seq of range(1, 40)) {
      appended.push(thinking(run, seq), thinking(other, seq));
    }
    appended.push(completed(run, 41));
    for (const e of appended) buffer.append(e);

    await buffer.flush();

    expect(store.batches).toEqual([appended.map((e) => e.seq)]);
    expect(await store.getEvents(run.runId, 0)).toEqual(appended.filter((e) => e.runId === run.runId));
    expect(await store.getEvents(other.runId, 0)).toEqual(appended.filter((e) => e.runId === other.runId));
    expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', result: 'done', lastSeq: 41 });
  });

  it('flush with nothing pending resolves without calling the store', async () => {
    await buffer.flush();
    await buffer.flush();
    expect(store.batches).toEqual([]);
  });

  it('flush resolves only once the events are stored', async () => {
    const gate = deferred();
    store.gate = gate.promise;
    append(1, 2);
    let resolved = false;
    const flushed = buffer.flush().then(() => (resolved = true));

    await waitFor(() => store.batches.length === 1);
    await tick();
    expect(resolved).toBe(false);
    expect(await storedSeqs()).toEqual([]);
    expect(buffer.pendingCount).toBe(2);

    gate.resolve();
    await flushed;
    expect(await storedSeqs()).toEqual([1, 2]);
  });

  it('keeps events appended during a flush, in order, for the next write; flushes never overlap', async () => {
    const gate = deferred();
    store.gate = gate.promise;
    append(1, 2, 3);
    const first = buffer.flush();
    await waitFor(() => store.batches.length === 1);

    append(4, 5, 6);
    // Unstored: the three being written and the three appended meanwhile.
    expect(buffer.pendingCount).toBe(6);
    const second = buffer.flush();
    append(7, 8);
    await tick();
    // The second flush waits for the first one instead of writing beside it.
    expect(store.batches).toEqual([[1, 2, 3]]);

    gate.resolve();
    await Promise.all([first, second]);
    await buffer.flush();

    expect(store.batches[0]).toEqual([1, 2, 3]);
    expect(store.batches.flat()).toEqual(range(1, 8));
    expect(store.maxInFlight).toBe(1);
    expect(buffer.pendingCount).toBe(0);
    expect(await storedSeqs()).toEqual(range(1, 8));
  });

  it('keeps a failed batch and stores it, exactly once, with the next flush', async () => {
    store.failBeforeWrite = 1;
    append(1, 2, 3);

    await expect(buffer.flush()).rejects.toThrow('disk full');
    expect(buffer.pendingCount).toBe(3);
    expect(await storedSeqs()).toEqual([]);
    expect(loggedErrors).toHaveBeenCalledWith(expect.stringMatching(/Storing 3 events failed, will retry: disk full/));

    buffer.append(completed(run, 4));
    await buffer.flush();

    expect(store.batches).toEqual([
      [1, 2, 3],
      [1, 2, 3, 4],
    ]);
    expect(await storedSeqs()).toEqual([1, 2, 3, 4]);
    expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', lastSeq: 4 });
    expect(buffer.pendingCount).toBe(0);

    await buffer.flush();
    expect(store.batches).toHaveLength(2);
  });

  it('puts a failed batch back ahead of events appended while it was being written', async () => {
    const gate = deferred();
    store.gate = gate.promise;
    store.failBeforeWrite = 1;
    append(1, 2, 3);
    const failing = buffer.flush();
    await waitFor(() => store.batches.length === 1);
    append(4, 5);

    gate.resolve();
    await expect(failing).rejects.toThrow('disk full');
    expect(buffer.pendingCount).toBe(5);

    await buffer.flush();
    expect(store.batches[1]).toEqual([1, 2, 3, 4, 5]);
    expect(await storedSeqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it('stores each event once when a write committed but reported failure and is retried', async () => {
    store.failAfterWrite = 1;
    append(1, 2);
    buffer.append(completed(run, 3));

    await expect(buffer.flush()).rejects.toThrow('connection lost after commit');
    expect(buffer.pendingCount).toBe(3);

    await buffer.flush();
    expect(store.batches).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(await storedSeqs()).toEqual([1, 2, 3]);
    expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', lastSeq: 3 });
  });

  it('retries a failed timed write on its own', async () => {
    buffer = build({ storeFlushIntervalMs: 10 });
    store.failBeforeWrite = 1;
    append(1, 2, 3);

    await waitFor(async () => (await storedSeqs()).length === 3);
    expect(store.batches).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(buffer.pendingCount).toBe(0);
  });
});

describe('EventWriteBuffer: runs and group commit', () => {
  /** A migrated store that records a copy of every batch it is given. */
  async function recordingStore(): Promise<{ store: ScriptedStore; writes: WriteBatch[] }> {
    const store = new ScriptedStore();
    await store.migrate();
    const writes: WriteBatch[] = [];
    const write = store.write.bind(store);
    store.write = (batch: WriteBatch) => {
      writes.push({ runs: [...batch.runs], events: [...batch.events] });
      return write(batch);
    };
    return { store, writes };
  }

  it('writes queued runs before their events, in one write per turn for every flushSoon caller (nodes sharing a store)', async () => {
    const { store, writes } = await recordingStore();
    // Shared: other nodes count this node's runs from the store, so every queued run is written at once.
    const buffer = new EventWriteBuffer(store, { ...TEST_OPTIONS, storeFlushIntervalMs: 60_000, redisUrl: 'redis://127.0.0.1:1' });
    const [r1, r2] = [newRun(), newRun()];
    buffer.appendRun(r1);
    buffer.append(thinking(r1, 1));
    const first = buffer.flushSoon();
    // Later in the same turn (after microtasks that an immediate flush would have used to write).
    for (let i = 0; i < 5; i++) await Promise.resolve();
    buffer.appendRun(r2);
    await Promise.all([first, buffer.flushSoon()]);
    expect(writes).toHaveLength(1);
    expect(writes[0].runs.map((r) => r.runId)).toEqual([r1.runId, r2.runId]);
    expect(await store.getRun(r1.runId)).toMatchObject({ status: 'running', lastSeq: 1 });
  });

  it('alone, writes a run once: held back from a group commit until its first events, then inserted finished', async () => {
    const { store, writes } = await recordingStore();
    const buffer = new EventWriteBuffer(store, { ...TEST_OPTIONS, storeFlushIntervalMs: 60_000 });
    const [ending, fresh] = [newRun(), newRun()];
    buffer.appendRun(ending);
    buffer.append(thinking(ending, 1));
    const endingStored = buffer.flushSoon();
    // A start in the same turn: its run executes (and emits) on the next macrotask, after this commit.
    buffer.appendRun(fresh);
    await endingStored;
    expect(writes.map((w) => w.runs.map((r) => r.runId))).toEqual([[ending.runId]]);
    expect(buffer.hasUnstoredRuns).toBe(true);
    expect(await store.getRun(fresh.runId)).toBeUndefined();
    // Its events arrive; the terminal one's group commit stores the row and them together.
    buffer.append(thinking(fresh, 1));
    buffer.append(completed(fresh, 2));
    await buffer.flushSoon();
    expect(writes[1].runs.map((r) => r.runId)).toEqual([fresh.runId]);
    expect(await store.getRun(fresh.runId)).toMatchObject({ status: 'completed', lastSeq: 2 });
    expect(buffer.hasUnstoredRuns).toBe(false);
    expect(writes).toHaveLength(2);
  });

  it('alone, a held-back run is still written by a plain flush (reads) and by the flush timer', async () => {
    const { store } = await recordingStore();
    const buffer = new EventWriteBuffer(store, { ...TEST_OPTIONS, storeFlushIntervalMs: 30 });
    const [ending, read, timed] = [newRun(), newRun(), newRun()];
    buffer.appendRun(ending);
    buffer.append(completed(ending, 1));
    buffer.appendRun(read);
    await buffer.flushSoon();
    expect(await store.getRun(read.runId)).toBeUndefined();
    await buffer.flush();
    expect(await store.getRun(read.runId)).toMatchObject({ status: 'running', lastSeq: 0 });

    buffer.append(completed(read, 1));
    buffer.appendRun(timed);
    await buffer.flushSoon();
    expect(await store.getRun(timed.runId)).toBeUndefined();
    await waitFor(async () => (await store.getRun(timed.runId)) !== undefined);
    expect(buffer.hasUnstoredRuns).toBe(false);
  });

  it('withdraws a run that was refused before it was written', async () => {
    const store = new ScriptedStore();
    await store.migrate();
    const buffer = new EventWriteBuffer(store, { ...TEST_OPTIONS, storeFlushIntervalMs: 60_000 });
    const [gone, kept] = [newRun(), newRun()];
    buffer.appendRun(gone);
    buffer.append(thinking(gone, 1));
    buffer.appendRun(kept);
    expect(buffer.withdrawRun(gone.runId)).toBe(true);
    expect(buffer.pendingCount).toBe(0);
    await buffer.flush();
    expect(await store.getRun(gone.runId)).toBeUndefined();
    expect(await store.getRun(kept.runId)).toMatchObject({ status: 'running' });
    expect(buffer.withdrawRun(gone.runId)).toBe(false);
  });
});
