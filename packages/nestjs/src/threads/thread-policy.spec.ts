import { Agent } from '../agents/agent.decorator';
import type { AgentHandler, AgentRunContext } from '../agents/agent.interface';
import { createPipelineTestHarness, type PipelineTestHarness } from '../testing/pipeline-test.harness';
import { PipelineError } from '../errors/pipeline.error';
import { RunLifecycleHooks } from '../runs/run-lifecycle.hooks';

/** Gates opened by the tests, by input key: a run ends exactly when its test says so. */
const gates = new Map<string, () => void>();

@Agent({ name: 'gate', description: 'Completes with its key once the test opens its gate.' })
class GateAgent implements AgentHandler<{ key: string }, string> {
  async run({ input, signal }: AgentRunContext<{ key: string }>): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      gates.set(input.key, resolve);
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    return input.key;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

async function opened(key: string): Promise<void> {
  for (let i = 0; i < 500 && !gates.has(key); i++) await tick();
  const open = gates.get(key);
  if (!open) throw new Error(`run '${key}' never started`);
  gates.delete(key);
  open();
}

describe('ThreadPolicy (through AgentService, SQLite in memory)', () => {
  let sut: PipelineTestHarness;

  beforeEach(async () => {
    gates.clear();
    sut = await createPipelineTestHarness({
      providers: [GateAgent],
      // A short grace: runs still gated when a test ends are cancelled at close.
      pipeline: { maxConcurrentRunsPerUser: 2, maxQueuedRunsPerThread: 2, shutdownGraceMs: 20 },
    });
  });
  afterEach(() => sut.close());

  const start = (key: string, threadId?: string, multitask?: 'reject' | 'enqueue' | 'interrupt', userId = 'ann') =>
    sut.agents.start(userId, { agent: 'gate', input: { key }, threadId, multitask });

  it('enqueue: queued runs start in order as the runs before them end; `done` of a queued run settles at its end', async () => {
    const first = await start('1', 't');
    const second = await start('2', 't');
    const third = await start('3', 't');
    expect([first.status, second.status, third.status]).toEqual(['running', 'queued', 'queued']);
    expect(sut.recorder.eventsOf(second.runId)).toEqual([]);
    await opened('1');
    await opened('2');
    await opened('3');
    await expect(third.done).resolves.toMatchObject({ outcome: { kind: 'completed', result: '3' } });
    const starts = [first, second, third].map((r) => sut.recorder.published.findIndex((p) => p.event.runId === r.runId));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it('reject and a full queue: THREAD_BUSY; another user with the same thread id is not affected', async () => {
    await start('a', 't');
    await expect(start('b', 't', 'reject')).rejects.toMatchObject({ code: 'THREAD_BUSY' });
    await start('c', 't');
    await start('d', 't');
    const full = await start('e', 't').catch((err: unknown) => err);
    expect(full).toBeInstanceOf(PipelineError);
    expect(full).toMatchObject({ code: 'THREAD_BUSY', details: { queued: 2, limit: 2 } });
    expect((await start('z', 't', 'reject', 'bob')).status).toBe('running');
  });

  it('interrupt: the running and queued runs end `superseded`; the new run then runs', async () => {
    const running = await start('r', 't');
    const queued = await start('q', 't');
    const newest = await start('n', 't', 'interrupt');
    await expect(running.done).resolves.toMatchObject({ outcome: { kind: 'cancelled', reason: 'superseded' } });
    // Superseded before or after it began executing, either way well formed: seq 1..n, one terminal, last.
    const events = sut.recorder.eventsOf(running.runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'agent_cancelled')).toEqual([events[events.length - 1]]);
    await expect(queued.done).resolves.toMatchObject({ outcome: { kind: 'cancelled', reason: 'superseded' } });
    expect(sut.recorder.eventsOf(queued.runId).map((e) => [e.seq, e.type])).toEqual([[1, 'agent_cancelled']]);
    await opened('n');
    await expect(newest.done).resolves.toMatchObject({ outcome: { kind: 'completed', result: 'n' } });
  });

  it('a queued run whose user is at the limit when its thread frees waits for a slot (no error), then starts', async () => {
    const a1 = await start('a1', 'a');
    const a2 = await start('a2', 'a');
    await start('b1', 'b');
    expect(a2.status).toBe('queued');
    // The moment a1 ends, a start on a new thread takes the slot it frees (synchronously, before
    // the queue of thread a can claim it): the user is at the limit when a2 could start.
    let x: Promise<unknown> | undefined;
    sut.module.get(RunLifecycleHooks).observe({
      runEnded: (run) => {
        if (run.runId === a1.runId) x = start('x');
      },
    });
    await opened('a1');
    await a1.done;
    await opened('x');
    expect(sut.recorder.eventsOf(a2.runId)).toEqual([]);
    await expect(x).resolves.toMatchObject({ status: 'running' });
    await expect(sut.agents.getRun('ann', a2.runId)).resolves.toMatchObject({ status: 'queued' });
    // x's end frees a slot: a2 starts without anyone asking again.
    await opened('a2');
    await expect(a2.done).resolves.toMatchObject({ outcome: { kind: 'completed', result: 'a2' } });
    expect(sut.recorder.eventsOf(a2.runId)[0]).toMatchObject({ type: 'agent_started', seq: 1 });
  });

  it('GET-style place of a queued run: position among the queued runs and the run just ahead', async () => {
    const first = await start('p1', 't');
    const second = await start('p2', 't');
    const third = await start('p3', 't');
    await expect(sut.agents.describeRun('ann', third.runId)).resolves.toMatchObject({
      status: 'queued',
      queuePosition: 2,
      queuedBehind: second.runId,
    });
    await expect(sut.agents.describeRun('ann', second.runId)).resolves.toMatchObject({ queuePosition: 1, queuedBehind: first.runId });
    expect(await sut.agents.describeRun('ann', first.runId)).not.toHaveProperty('queuePosition');
    await sut.agents.cancel('ann', second.runId);
    await expect(sut.agents.describeRun('ann', third.runId)).resolves.toMatchObject({ queuePosition: 1, queuedBehind: first.runId });
    await expect(second.done).resolves.toMatchObject({ outcome: { kind: 'cancelled', reason: 'user' } });
  });
});
