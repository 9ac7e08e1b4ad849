import { type RunStore } from '@agent-pipeline/nestjs';
import { openRunStore } from '@agent-pipeline/nestjs/testing';
import { ThreadMemory } from './thread-memory.service';

describe('ThreadMemory', () => {
  let store: RunStore;
  let sut: ThreadMemory;
  let clock = Date.parse('2026-01-01T00:00:00.000Z');

  /** Stores a finished run, one second after the previous one. */
  async function run(
    runId: string,
    options: {
      userId?: string;
      threadId?: string;
      agent?: string;
      text: unknown;
      ending?: 'completed' | 'failed' | 'cancelled' | 'running';
      result?: unknown;
    },
  ): Promise<void> {
    const { userId = 'alice', threadId = 't1', agent = 'assistant', ending = 'completed' } = options;
    clock += 1000;
    await store.createRun({
      runId,
      threadId,
      userId,
      agent,
      input: { text: options.text },
      createdAt: new Date(clock),
      nodeId: 'n',
      leaseUntil: new Date(clock + 60_000),
    });
    if (ending === 'running') return;
    const type = ending === 'completed' ? 'agent_completed' : ending === 'failed' ? 'agent_error' : 'agent_cancelled';
    const data =
      ending === 'completed'
        ? { result: options.result, durationMs: 1 }
        : ending === 'failed'
          ? { code: 'AGENT_FAILED', message: 'x' }
          : { reason: 'user' };
    await store.appendEvents([{ runId, threadId, seq: 1, type, agent, ts: new Date(clock).toISOString(), data } as never]);
  }

  beforeEach(async () => {
    store = await openRunStore('sqlite::memory:');
    sut = new ThreadMemory(store);
  });

  afterEach(() => store.close());

  const query = { userId: 'alice', threadId: 't1', agent: 'assistant', runId: 'current', limit: 20 };

  it('turns earlier completed runs into user and assistant messages, oldest first', async () => {
    await run('r1', { text: 'Hi, I am Ada.', result: 'Hello Ada.' });
    await run('r2', { text: 'I like tea.', result: 'Noted.' });
    await run('current', { text: 'Who am I?', ending: 'running' });
    await expect(sut.history(query)).resolves.toEqual([
      { role: 'user', content: 'Hi, I am Ada.' },
      { role: 'assistant', content: 'Hello Ada.' },
      { role: 'user', content: 'I like tea.' },
      { role: 'assistant', content: 'Noted.' },
    ]);
  });

  it('leaves out other users, threads and agents, unfinished runs, and runs whose input or result is not text', async () => {
    await run('r1', { text: 'kept', result: 'yes' });
    await run('r2', { userId: 'bob', text: "bob's", result: 'no' });
    await run('r3', { threadId: 't2', text: 'other thread', result: 'no' });
    await run('r4', { agent: 'echo', text: 'echo run', result: 'echo run' });
    await run('r5', { text: 'failed', ending: 'failed' });
    await run('r6', { text: 'cancelled', ending: 'cancelled' });
    await run('r7', { text: 'still running', ending: 'running' });
    await run('r8', { text: 42, result: 'no' });
    await run('r9', { text: 'no', result: { not: 'text' } });
    await expect(sut.history(query)).resolves.toEqual([
      { role: 'user', content: 'kept' },
      { role: 'assistant', content: 'yes' },
    ]);
  });

  it('keeps the newest messages within the limit and never starts with a reply', async () => {
    for (let i = 1; i <= 5; i++) await run(`r${i}`, { text: `q${i}`, result: `a${i}` });
    const contents = async (limit: number) => (await sut.history({ ...query, limit })).map((m) => m.content);
    await expect(contents(4)).resolves.toEqual(['q4', 'a4', 'q5', 'a5']);
    await expect(contents(3)).resolves.toEqual(['q5', 'a5']);
    await expect(contents(1)).resolves.toEqual([]);
    await expect(contents(0)).resolves.toEqual([]);
    await expect(contents(100)).resolves.toHaveLength(10);
  });

  it('does not count the asking run against the limit', async () => {
    await run('r1', { text: 'q1', result: 'a1' });
    await run('current', { text: 'q2', result: 'a2' });
    await expect(sut.history({ ...query, limit: 2 })).resolves.toEqual([
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
    ]);
  });
});
