import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import {
  command,
  expectWellFormedRun,
  ofRun,
  recordEvents,
  recordExceptions,
  roundTrip,
  startTestApp,
  TestApp,
  waitFor,
  waitForTerminal,
} from './support/test-app';

const USERS = 20;
const SOCKETS_PER_USER = 2;
const RUNS_PER_USER = 3;
const COUNTDOWN_STEPS = 5;

interface UserSockets {
  userId: string;
  sockets: Socket[];
  events: AgentEventEnvelope[][];
  exceptions: unknown[][];
  runs: Array<{ runId: string; threadId: string; agent: string; expectedEvents: number; from: number }>;
}

describe('isolation: every event reaches its own user’s sockets and nobody else’s', () => {
  let t: TestApp;
  const users: UserSockets[] = [];

  beforeAll(async () => {
    // 3 concurrent runs per user stay under the default limit of 4; the rate limit is raised so it cannot interfere.
    t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '100000' });
    // u1 … u20: u1 is a prefix of u10 … u19, so a room matched by prefix would leak.
    for (let i = 1; i <= USERS; i++) {
      const userId = `u${i}`;
      const sockets = await Promise.all(Array.from({ length: SOCKETS_PER_USER }, () => t.connect(userId)));
      users.push({
        userId,
        sockets,
        events: sockets.map(recordEvents),
        exceptions: sockets.map(recordExceptions),
        runs: [],
      });
    }
  });
  afterAll(() => t.close());

  it(`${USERS} users × ${SOCKETS_PER_USER} sockets × ${RUNS_PER_USER} concurrent runs`, async () => {
    // Every run of every user is started at once, from alternating sockets of that user.
    await Promise.all(
      users.flatMap((user) =>
        Array.from({ length: RUNS_PER_USER }, async (_, r) => {
          const from = r % SOCKETS_PER_USER;
          const echo = r === 0;
          const request = echo
            ? { agent: 'echo', input: { text: `secret of ${user.userId}` } }
            : { agent: 'countdown', input: { steps: COUNTDOWN_STEPS, intervalMs: 5 + r } };
          const ack = await command(user.sockets[from], 'run:start', request);
          expect(ack).toMatchObject({ ok: true, runId: expect.any(String), threadId: expect.any(String) });
          user.runs.push({
            runId: ack.runId,
            threadId: ack.threadId,
            agent: request.agent,
            expectedEvents: echo ? 4 : COUNTDOWN_STEPS + 2,
            from,
          });
        }),
      ),
    );

    const allRunIds = users.flatMap((u) => u.runs.map((r) => r.runId));
    expect(new Set(allRunIds).size).toBe(USERS * RUNS_PER_USER);

    // Both sockets of every user get the terminal event of every one of that user's runs.
    await Promise.all(
      users.flatMap((user) => user.events.flatMap((events) => user.runs.map((run) => waitForTerminal(events, run.runId, 15_000)))),
    );
    // Flush: anything else written to any socket before now has arrived.
    await Promise.all(users.flatMap((u) => u.sockets.map(roundTrip)));

    for (const user of users) {
      const own = new Set(user.runs.map((r) => r.runId));
      user.events.forEach((events, socketIndex) => {
        const where = `${user.userId} socket ${socketIndex}`;
        // Not one event of another user's run.
        const foreign = events.filter((e) => !own.has(e.runId));
        expect({ where, foreign }).toEqual({ where, foreign: [] });
        // Every event of each own run, in order, seq 1..n, one terminal event, last.
        for (const run of user.runs) {
          const runEvents = ofRun(events, run.runId);
          const types = expectWellFormedRun(runEvents, run);
          expect({ where, run: run.runId, count: types.length }).toEqual({ where, run: run.runId, count: run.expectedEvents });
          expect(types.at(-1)).toBe('agent_completed');
        }
        expect(events).toHaveLength(user.runs.reduce((n, r) => n + r.expectedEvents, 0));
      });
      // Both sockets of a user saw the very same events.
      const [first, ...others] = user.events;
      for (const other of others) {
        for (const run of user.runs) expect(ofRun(other, run.runId)).toEqual(ofRun(first, run.runId));
      }
      // The echo run carries this user's own text, nobody else's.
      const echo = user.runs.find((r) => r.agent === 'echo')!;
      expect(ofRun(first, echo.runId).at(-1)!.data).toMatchObject({ result: `secret of ${user.userId}` });
    }
    expect(users.flatMap((u) => u.exceptions.flat())).toEqual([]);
  });
});

describe('a client cannot put itself into another user’s room', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('join / subscribe with user:bob from alice’s socket has no effect', async () => {
    const alice = await t.connect('alice');
    const bob = await t.connect('bob');
    const aliceEvents = recordEvents(alice);
    const aliceExceptions = recordExceptions(alice);
    const bobEvents = recordEvents(bob);

    // Every plausible way a client might ask to join a room, with and without an ack callback.
    const attempts: Array<[string, unknown]> = [
      ['join', 'user:bob'],
      ['join', { room: 'user:bob' }],
      ['subscribe', 'user:bob'],
      ['subscribe', { room: 'user:bob' }],
      ['joinRoom', 'user:bob'],
      ['room:join', { room: 'user:bob' }],
    ];
    for (const [event, payload] of attempts) {
      alice.emit(event, payload);
      alice.emit(event, payload, () => undefined);
    }
    // A run:start that names bob's room as its thread only labels alice's own run.
    const aliceRun = await command(alice, 'run:start', { agent: 'echo', input: { text: 'mine' }, threadId: 'user:bob' });
    expect(aliceRun).toMatchObject({ ok: true, threadId: 'user:bob' });
    await waitForTerminal(aliceEvents, aliceRun.runId);
    await roundTrip(alice);

    const bobRuns = await Promise.all([
      command(bob, 'run:start', { agent: 'echo', input: { text: 'bob only' } }),
      command(bob, 'run:start', { agent: 'countdown', input: { steps: 3, intervalMs: 5 } }),
    ]);
    for (const ack of bobRuns) {
      expect(ack).toMatchObject({ ok: true });
      await waitForTerminal(bobEvents, ack.runId);
    }
    await waitFor(() => bobRuns.every((ack) => ofRun(bobEvents, ack.runId).length > 0), 'bob’s events');
    await roundTrip(alice);

    const bobRunIds = new Set(bobRuns.map((a) => a.runId));
    expect(aliceEvents.filter((e) => bobRunIds.has(e.runId))).toEqual([]);
    expect(aliceEvents.every((e) => e.runId === aliceRun.runId)).toBe(true);
    // And bob never saw alice's run, although its threadId is "user:bob".
    expect(bobEvents.filter((e) => e.runId === aliceRun.runId)).toEqual([]);
    expect(aliceExceptions).toEqual([]);
  });
});
