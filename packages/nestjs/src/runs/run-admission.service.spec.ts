import type { MultitaskPolicy } from '@agent-pipeline/protocol';
import type { RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import type { EventWriteBuffer } from '../store/event-write.buffer';
import type { CancelledQueuedRun, IdempotentRun, NewRun, RunStore, ThreadRun, ThreadTransaction } from '../store/run-store.interface';
import { ThreadQueueWatch } from '../threads/thread-queue.watch';
import type { RunBudget } from '../usage/run-budget.service';
import { IdempotencyKeyTaken } from './idempotency/idempotency-key.taken';
import { RunAdmission, type RunDraft } from './run-admission.service';
import type { RunRateLimiter } from './run-rate.limiter';
import { RunRegistry } from './run.registry';

/** The rules of admission, against in-memory fakes of what it reads and writes. */

const LIMIT = 2;
const QUEUE_LIMIT = 2;

/** A store thread: its stored runs (in thread order) and the runs a transaction added, committed only if it resolves. */
class FakeStore {
  readonly threads = new Map<string, ThreadRun[]>();
  /** Rows written outside a thread transaction (keyed runs), by id. */
  readonly rows = new Map<string, NewRun>();
  readonly deleted: string[] = [];
  /** What `countRunning` / `countExecuting` answer: the user's running runs on all nodes. */
  running = 0;
  holder?: IdempotentRun;
  claimable = true;
  insertFails = false;
  /** Runs while a transaction counts the user's executing runs (something else happening meanwhile). */
  duringCount?: () => void;
  /** Each transaction's steps, for asserting the order inside it. */
  readonly log: string[] = [];

  seed(threadId: string, ...statuses: ThreadRun['status'][]): ThreadRun[] {
    const runs = statuses.map((status, i) => ({
      runId: `${threadId}-${i}`,
      agent: 'echo',
      status,
      threadSeq: i,
      nodeId: 'node-b',
      createdAt: new Date(0).toISOString(),
    }));
    this.threads.set(threadId, runs);
    return runs;
  }

  asRunStore(): RunStore {
    const store: Partial<RunStore> = {
      createIdempotentRun: async (run) => {
        if (this.holder) return this.holder;
        this.rows.set(run.runId, run);
        return undefined;
      },
      countRunning: async () => this.running,
      deleteRun: async (runId) => {
        this.deleted.push(runId);
        this.rows.delete(runId);
      },
      withThread: async (_userId, threadId, work) => {
        const committed = this.threads.get(threadId) ?? [];
        const working = committed.map((r) => ({ ...r }));
        const tx: ThreadTransaction = {
          inFlight: async () => working.filter((r) => r.status === 'queued' || r.status === 'running'),
          countExecuting: async () => {
            this.log.push('countExecuting');
            this.duringCount?.();
            return this.running;
          },
          idempotentRun: async () => this.holder,
          insert: async (run) => {
            if (this.insertFails) throw new Error('disk full');
            this.log.push(`insert ${run.status}`);
            working.push({
              runId: run.runId,
              agent: run.agent,
              status: run.status ?? 'running',
              threadSeq: working.length,
              nodeId: run.nodeId,
              createdAt: run.createdAt.toISOString(),
            });
            return working.length;
          },
          claim: async (runId) => {
            if (!this.claimable) return false;
            working.find((r) => r.runId === runId)!.status = 'running';
            return true;
          },
          cancelQueued: async (runId, reason): Promise<CancelledQueuedRun | undefined> => {
            const run = working.find((r) => r.runId === runId)!;
            run.status = 'cancelled';
            return {
              userId: 'ann',
              event: { runId, threadId, seq: 1, type: 'agent_cancelled', agent: run.agent, ts: '', data: { reason } },
            };
          },
          deleteAll: async () => 0,
        };
        const result = await work(tx);
        this.threads.set(threadId, working);
        return result;
      },
    };
    return store as RunStore;
  }
}

class FakeWriter {
  pendingRuns: NewRun[] = [];
  pendingCount = 0;
  flushes = 0;
  /** Rows the last flush wrote (a flush empties the buffer). */
  written: NewRun[] = [];

  appendRun(run: NewRun): void {
    this.pendingRuns.push(run);
  }
  withdrawRun(runId: string): boolean {
    const before = this.pendingRuns.length;
    this.pendingRuns = this.pendingRuns.filter((r) => r.runId !== runId);
    return this.pendingRuns.length < before;
  }
  async flush(): Promise<void> {
    this.flushes++;
    this.written.push(...this.pendingRuns);
    this.pendingRuns = [];
  }
  flushSoon(): Promise<void> {
    return this.flush();
  }
}

class FakeRateLimiter {
  readonly consumed: string[] = [];
  refuse = false;
  async consume(userId: string): Promise<void> {
    if (this.refuse) throw new PipelineError('RATE_LIMITED', 'Too many runs started.', undefined, 7);
    this.consumed.push(userId);
  }
}

function setup({ shared = false } = {}) {
  const options = {
    maxConcurrentRunsPerUser: LIMIT,
    maxQueuedRunsPerThread: QUEUE_LIMIT,
    storeBacklogMaxEvents: 100,
    maxInputBytes: 1000,
    runLeaseMs: 30_000,
    idempotencyTtlMs: 60_000,
    threadMultitask: 'reject',
    redisUrl: shared ? 'redis://shared' : undefined,
  } as unknown as ResolvedPipelineOptions;
  const store = new FakeStore();
  const writer = new FakeWriter();
  const rate = new FakeRateLimiter();
  const registry = new RunRegistry();
  const watch = new ThreadQueueWatch();
  const budget = { spent: false, checked: 0 };
  const fakeBudget = {
    check: () => {
      budget.checked++;
      return budget.spent ? Promise.reject(new PipelineError('QUOTA_EXCEEDED', 'Budget spent.')) : undefined;
    },
  };
  const sut = new RunAdmission(
    options,
    store.asRunStore(),
    'node-a',
    registry,
    rate as unknown as RunRateLimiter,
    writer as unknown as EventWriteBuffer,
    fakeBudget as unknown as RunBudget,
    watch,
  );
  return { sut, store, writer, rate, registry, watch, budget };
}

let n = 0;
const draft = (over: Partial<RunDraft> = {}): RunDraft => ({
  runId: `r${++n}`,
  userId: 'ann',
  agent: 'echo',
  threadId: `t${n}`,
  input: { text: 'hi' },
  ...over,
});
const agent = { options: { name: 'echo' }, durable: false } as unknown as RegisteredAgent;

async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    if (err instanceof PipelineError) return err.code;
    if (err instanceof IdempotencyKeyTaken) return 'IdempotencyKeyTaken';
    throw err;
  }
  return 'admitted';
}

describe('RunAdmission', () => {
  describe('the cost of a start (backlog, then budget)', () => {
    it('refuses with UNAVAILABLE while the store backlog is full, before the budget is read', async () => {
      const { sut, writer, budget } = setup();
      writer.pendingCount = 100;
      expect(await codeOf(() => sut.checkCost('ann', agent))).toBe('UNAVAILABLE');
      expect(budget.checked).toBe(0);
      writer.pendingCount = 99;
      expect(sut.checkCost('ann', agent)).toBeUndefined();
      expect(budget.checked).toBe(1);
    });

    it('refuses with QUOTA_EXCEEDED when the budget is spent', async () => {
      const { sut, budget } = setup();
      budget.spent = true;
      expect(await codeOf(sut.checkCost('ann', agent)!)).toBe('QUOTA_EXCEEDED');
    });
  });

  describe('new thread', () => {
    it('takes the local slot synchronously: a start begun while another awaits its rate cannot take the last slot', async () => {
      const { sut, registry, rate } = setup();
      const first = sut.reserve(draft());
      const second = sut.reserve(draft());
      // Neither has awaited anything yet, and both slots are taken.
      expect(registry.countForUser('ann')).toBe(LIMIT);
      expect(await codeOf(() => sut.reserve(draft()))).toBe('TOO_MANY_RUNS');
      await Promise.all([first, second]);
      expect(rate.consumed).toEqual(['ann', 'ann']);
    });

    it('a start refused by concurrency consumes no rate token', async () => {
      const { sut, rate } = setup();
      await sut.reserve(draft());
      await sut.reserve(draft());
      expect(await codeOf(() => sut.reserve(draft()))).toBe('TOO_MANY_RUNS');
      expect(rate.consumed).toHaveLength(LIMIT);
    });

    it('RATE_LIMITED releases the slot it had taken', async () => {
      const { sut, rate, registry } = setup();
      rate.refuse = true;
      const run = draft();
      expect(await codeOf(sut.reserve(run))).toBe('RATE_LIMITED');
      expect(registry.get(run.runId)).toBeUndefined();
      expect(registry.countForUser('ann')).toBe(0);
    });

    it('alone, the row rides with the next group commit and nothing is counted in the store', async () => {
      const { sut, writer, store } = setup();
      store.running = 99;
      const run = draft();
      await sut.reserve(run);
      await sut.storeNew(run);
      expect(writer.pendingRuns.map((r) => r.runId)).toEqual([run.runId]);
      expect(writer.flushes).toBe(0);
    });

    it('shared: the row is stored at once and counted; one too many is refused, deleted and its slot released', async () => {
      const { sut, writer, store, registry } = setup({ shared: true });
      const ok = draft();
      store.running = LIMIT;
      await sut.reserve(ok);
      await sut.storeNew(ok);
      expect(writer.written.map((r) => r.runId)).toEqual([ok.runId]);
      expect(store.deleted).toEqual([]);

      const over = draft();
      store.running = LIMIT + 1;
      await sut.reserve(over);
      const err = await sut.storeNew(over).catch((e: PipelineError) => e);
      expect(err).toMatchObject({ code: 'TOO_MANY_RUNS', details: { active: LIMIT, limit: LIMIT } });
      expect(store.deleted).toEqual([over.runId]);
      expect(registry.get(over.runId)).toBeUndefined();
      expect(registry.get(ok.runId)).toBeDefined();
    });

    it('a keyed run is stored at once; a key taken elsewhere is IdempotencyKeyTaken, and the slot is released', async () => {
      const { sut, store, writer, registry } = setup();
      const keyed = draft({ idempotency: { key: 'k', fingerprint: 'f' } });
      await sut.reserve(keyed);
      await sut.storeNew(keyed);
      expect(store.rows.get(keyed.runId)?.idempotency).toEqual({ key: 'k', fingerprint: 'f' });
      expect(writer.pendingRuns).toEqual([]);

      store.holder = { runId: 'other', threadId: 't', status: 'running', fingerprint: 'f' };
      const lost = draft({ idempotency: { key: 'k', fingerprint: 'f' } });
      await sut.reserve(lost);
      expect(await codeOf(sut.storeNew(lost))).toBe('IdempotencyKeyTaken');
      expect(registry.get(lost.runId)).toBeUndefined();
      expect(store.deleted).toEqual([]);
    });

    it('release takes back a buffered row without touching the store', async () => {
      const { sut, writer, store, registry } = setup();
      const run = draft();
      await sut.reserve(run);
      await sut.storeNew(run);
      await sut.release(run.runId, true);
      expect(writer.pendingRuns).toEqual([]);
      expect(store.deleted).toEqual([]);
      expect(registry.countForUser('ann')).toBe(0);
    });
  });

  describe('named thread', () => {
    const onThread = (s: ReturnType<typeof setup>, threadId: string, policy: MultitaskPolicy, over: Partial<RunDraft> = {}) =>
      s.sut.admitOnThread(draft({ threadId, ...over }), policy);

    it('a free thread starts: the slot is taken and the run stored running, after its rate is counted', async () => {
      const s = setup();
      const run = draft({ threadId: 'free' });
      await expect(s.sut.admitOnThread(run, 'reject')).resolves.toEqual({ kind: 'start' });
      expect(s.registry.get(run.runId)).toBeDefined();
      expect(s.store.threads.get('free')?.map((r) => [r.runId, r.status])).toEqual([[run.runId, 'running']]);
      expect(s.rate.consumed).toEqual(['ann']);
    });

    it('RATE_LIMITED comes first: the thread is not read, nothing is stored', async () => {
      const s = setup();
      s.rate.refuse = true;
      expect(await codeOf(onThread(s, 'free', 'reject'))).toBe('RATE_LIMITED');
      expect(s.store.threads.has('free')).toBe(false);
      expect(s.registry.countForUser('ann')).toBe(0);
    });

    it('a free thread with no local slot: TOO_MANY_RUNS, nothing stored (its rate token is spent)', async () => {
      const s = setup();
      await s.sut.reserve(draft());
      await s.sut.reserve(draft());
      expect(await codeOf(onThread(s, 'free', 'enqueue'))).toBe('TOO_MANY_RUNS');
      expect(s.store.threads.get('free') ?? []).toEqual([]);
      expect(s.registry.countForUser('ann')).toBe(LIMIT);
      expect(s.rate.consumed).toHaveLength(LIMIT + 1);
    });

    it('shared: the store count decides before the insert, and the refused run gives its local slot back', async () => {
      const s = setup({ shared: true });
      s.store.running = LIMIT;
      const run = draft({ threadId: 'free' });
      const err = await s.sut.admitOnThread(run, 'reject').catch((e: PipelineError) => e);
      expect(err).toMatchObject({ code: 'TOO_MANY_RUNS', details: { active: LIMIT, limit: LIMIT } });
      expect(s.store.log).toEqual(['countExecuting']);
      expect(s.registry.get(run.runId)).toBeUndefined();
      expect(s.store.threads.get('free')).toBeUndefined();

      s.store.running = LIMIT - 1;
      await expect(s.sut.admitOnThread(draft({ threadId: 'free' }), 'reject')).resolves.toEqual({ kind: 'start' });
      expect(s.store.log).toEqual(['countExecuting', 'countExecuting', 'insert running']);
    });

    it('alone, the store is not counted', async () => {
      const s = setup();
      s.store.running = 99;
      await expect(onThread(s, 'free', 'reject')).resolves.toEqual({ kind: 'start' });
      expect(s.store.log).toEqual(['insert running']);
    });

    it('reject: THREAD_BUSY naming the runs in flight; nothing stored, no slot taken', async () => {
      const s = setup();
      s.store.seed('busy', 'running');
      const err = await onThread(s, 'busy', 'reject').catch((e: PipelineError) => e);
      expect(err).toMatchObject({ code: 'THREAD_BUSY', details: { threadId: 'busy', inFlight: ['busy-0'] } });
      expect(s.store.threads.get('busy')).toHaveLength(1);
      expect(s.registry.countForUser('ann')).toBe(0);
    });

    it('enqueue: queued behind the executing runs, needing no slot; THREAD_BUSY once the queue is full', async () => {
      const s = setup();
      await s.sut.reserve(draft());
      await s.sut.reserve(draft());
      const [executing] = s.store.seed('busy', 'running', 'queued');
      await expect(onThread(s, 'busy', 'enqueue')).resolves.toEqual({ kind: 'queued', executing: [executing] });
      expect(s.store.threads.get('busy')?.map((r) => r.status)).toEqual(['running', 'queued', 'queued']);
      const err = await onThread(s, 'busy', 'enqueue').catch((e: PipelineError) => e);
      expect(err).toMatchObject({ code: 'THREAD_BUSY', details: { threadId: 'busy', queued: QUEUE_LIMIT, limit: QUEUE_LIMIT } });
      expect(s.store.threads.get('busy')).toHaveLength(3);
    });

    it('interrupt: the queued runs are cancelled, the run queued behind the executing ones', async () => {
      const s = setup();
      const [executing] = s.store.seed('busy', 'running', 'queued', 'queued');
      const decision = await onThread(s, 'busy', 'interrupt');
      expect(decision).toMatchObject({ kind: 'interrupt', executing: [executing] });
      expect(decision.kind === 'interrupt' && decision.cancelled.map((c) => c.event.runId)).toEqual(['busy-1', 'busy-2']);
      expect(s.store.threads.get('busy')?.map((r) => r.status)).toEqual(['running', 'cancelled', 'cancelled', 'queued']);
    });

    it('the policy defaults to THREAD_MULTITASK', async () => {
      const s = setup();
      s.store.seed('busy', 'running');
      expect(await codeOf(s.sut.admitOnThread(draft({ threadId: 'busy' })))).toBe('THREAD_BUSY');
    });

    it('a key another start holds: IdempotencyKeyTaken before the thread is decided', async () => {
      const s = setup();
      s.store.holder = { runId: 'other', threadId: 't', status: 'running', fingerprint: 'f' };
      expect(await codeOf(onThread(s, 'free', 'reject', { idempotency: { key: 'k', fingerprint: 'f' } }))).toBe('IdempotencyKeyTaken');
      expect(s.store.log).toEqual([]);
      expect(s.registry.countForUser('ann')).toBe(0);
    });

    it('a failed transaction releases the slot it had taken', async () => {
      const s = setup();
      s.store.insertFails = true;
      const run = draft({ threadId: 'free' });
      await expect(s.sut.admitOnThread(run, 'reject')).rejects.toThrow('disk full');
      expect(s.registry.get(run.runId)).toBeUndefined();
      expect(s.store.threads.get('free')).toBeUndefined();
    });
  });

  describe('queued run promoted', () => {
    it('starts the head of a free thread: claimed, slot taken, thread still watched', async () => {
      const s = setup();
      s.watch.watch('ann', 'q');
      s.store.seed('q', 'queued', 'queued');
      const head = await s.sut.promote('ann', 'q');
      expect(head?.runId).toBe('q-0');
      expect(s.registry.get('q-0')).toBeDefined();
      expect(s.store.threads.get('q')?.map((r) => r.status)).toEqual(['running', 'queued']);
      expect(s.watch.isWatched('ann', 'q')).toBe(true);
      // Its rate and budget were counted when it was queued.
      expect(s.rate.consumed).toEqual([]);
    });

    it('nothing queued: the thread is forgotten', async () => {
      const s = setup();
      s.watch.watch('ann', 'q');
      s.watch.setWaitingForSlot('ann', 'q', true);
      s.store.seed('q', 'running');
      expect(await s.sut.promote('ann', 'q')).toBeUndefined();
      expect(s.watch.isWatched('ann', 'q')).toBe(false);
      expect([...s.watch.waitingForSlotOf('ann')]).toEqual([]);
    });

    it('something still executes on the thread: nothing starts', async () => {
      const s = setup();
      s.store.seed('q', 'running', 'queued');
      expect(await s.sut.promote('ann', 'q')).toBeUndefined();
      expect(s.registry.countForUser('ann')).toBe(0);
    });

    it('no local slot: it waits for one (not refused, not claimed)', async () => {
      const s = setup();
      await s.sut.reserve(draft());
      await s.sut.reserve(draft());
      s.store.seed('q', 'queued');
      expect(await s.sut.promote('ann', 'q')).toBeUndefined();
      expect([...s.watch.waitingForSlotOf('ann')]).toEqual(['q']);
      expect(s.store.threads.get('q')?.[0].status).toBe('queued');
    });

    it('shared: the store count is a limit too; alone it is not read', async () => {
      const shared = setup({ shared: true });
      shared.store.running = LIMIT;
      shared.store.seed('q', 'queued');
      expect(await shared.sut.promote('ann', 'q')).toBeUndefined();
      expect([...shared.watch.waitingForSlotOf('ann')]).toEqual(['q']);

      const alone = setup();
      alone.store.running = LIMIT;
      alone.store.seed('q', 'queued');
      expect((await alone.sut.promote('ann', 'q'))?.runId).toBe('q-0');
      expect(alone.store.log).toEqual([]);
    });

    it('a start that takes the last slot while the store is counted wins it: the promotion waits', async () => {
      const s = setup({ shared: true });
      await s.sut.reserve(draft());
      s.store.seed('q', 'queued');
      // While the promotion awaits the shared count, a start on this node takes the last local slot.
      s.store.duringCount = () => void s.sut.reserve(draft());
      expect(await s.sut.promote('ann', 'q')).toBeUndefined();
      expect([...s.watch.waitingForSlotOf('ann')]).toEqual(['q']);
      expect(s.registry.countForUser('ann')).toBe(LIMIT);
    });

    it('a claim another node won releases the slot', async () => {
      const s = setup();
      s.store.claimable = false;
      s.store.seed('q', 'queued');
      expect(await s.sut.promote('ann', 'q')).toBeUndefined();
      expect(s.registry.countForUser('ann')).toBe(0);
    });
  });

  describe('durable run resumed', () => {
    it('takes its slot whatever the limits, and counts against new starts', async () => {
      const s = setup();
      await s.sut.reserve(draft());
      await s.sut.reserve(draft());
      s.sut.admitResumed({ runId: 'resumed', userId: 'ann', agent: 'echo', threadId: 't' });
      expect(s.registry.countForUser('ann')).toBe(LIMIT + 1);
      expect(await codeOf(() => s.sut.reserve(draft()))).toBe('TOO_MANY_RUNS');
      await s.sut.release('resumed');
      expect(s.registry.get('resumed')).toBeUndefined();
    });
  });

  it('builds every new run with a lease of RUN_LEASE_MS to this node', () => {
    const { sut } = setup();
    const before = Date.now();
    const row = sut.newRun(draft({ durable: true, traceparent: 'tp' }));
    expect(row.nodeId).toBe('node-a');
    expect(row.leaseUntil.getTime() - row.createdAt.getTime()).toBe(30_000);
    expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(row).toMatchObject({ durable: true, traceparent: 'tp', userId: 'ann', agent: 'echo' });
  });
});
