import { randomUUID } from 'node:crypto';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import { HttpClient } from './support/http-client';
import { startServerProcess, stopAllServerProcesses, tempDatabase } from './support/server-process';
import { command } from './support/test-app';

/** Idempotency keys are stored with their runs: they outlive a restart and hold on every node. */
describe('Idempotent starts across a restart (SQLite file)', () => {
  const db = tempDatabase();
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  it('replays a finished run and a durable run the restart resumed, with their status now, after the server restarts', async () => {
    const first = await startServerProcess({ DATABASE_URL: db.url });
    const http = new HttpClient(first.url, first.token('frank'));
    const done = await http.post(
      '/runs?wait=true',
      { agent: 'echo', input: { text: 'before' } },
      { headers: { 'Idempotency-Key': 'done' } },
    );
    expect(done).toMatchObject({ status: 200, body: { status: 'completed' } });
    const going = await http.post(
      '/runs',
      { agent: 'countdown', input: { steps: 1000, intervalMs: 20 } },
      { headers: { 'Idempotency-Key': 'going' } },
    );
    expect(going.status).toBe(202);
    first.kill('SIGKILL');
    await first.exited;

    const second = await startServerProcess({ DATABASE_URL: db.url });
    const after = new HttpClient(second.url, second.token('frank'));
    const replayed = await after.post('/runs', { agent: 'echo', input: { text: 'before' } }, { headers: { 'Idempotency-Key': 'done' } });
    expect(replayed).toMatchObject({ status: 202, body: { runId: done.body.runId, threadId: done.body.threadId, status: 'completed' } });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const socket = await second.connect('frank');
    const ack = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 }, idempotencyKey: 'going' });
    // countdown is durable: the restarted node resumed it, so the replay finds it running again, not a second run.
    expect(ack).toEqual({ ok: true, runId: going.body.runId, threadId: going.body.threadId, status: 'running', replayed: true });
    const conflict = await after.post('/runs', { agent: 'echo', input: { text: 'after' } }, { headers: { 'Idempotency-Key': 'done' } });
    expect(conflict).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_CONFLICT' } });
    expect((await after.get('/runs?limit=100')).body.runs).toHaveLength(2);
  });
});

describeCluster('Idempotent starts on two nodes (PostgreSQL + Redis)', () => {
  let nodes: TwoNodes;
  beforeAll(async () => {
    nodes = await startTwoNodes('idem', { RATE_LIMIT_RUNS_PER_MINUTE: '0' });
  });
  afterAll(() => nodes?.stop());

  /** 20 starts with one key, alternating between the nodes and between HTTP and the socket. */
  async function race(body: Record<string, unknown>, key: string): Promise<{ runId: string; replayed: boolean }[]> {
    const sockets = [await nodes.a.connect('gina'), await nodes.b.connect('gina')];
    const https = [new HttpClient(nodes.a.url, nodes.a.token('gina')), new HttpClient(nodes.b.url, nodes.b.token('gina'))];
    try {
      return await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const node = i % 2;
          if (i % 4 < 2) {
            const ack = await command(sockets[node], 'run:start', { ...body, idempotencyKey: key });
            if (!ack.ok) throw new Error(`start ${i} refused: ${JSON.stringify(ack.error)}`);
            return { runId: ack.runId as string, replayed: ack.replayed === true };
          }
          const answer = await https[node].post('/runs', body, { headers: { 'Idempotency-Key': key } });
          if (answer.status !== 202) throw new Error(`start ${i} refused: ${answer.status} ${JSON.stringify(answer.body)}`);
          return { runId: answer.body.runId as string, replayed: answer.headers.get('idempotent-replayed') === 'true' };
        }),
      );
    } finally {
      for (const s of sockets) s.disconnect();
    }
  }

  it('20 racing starts with one key on both nodes make one run (new thread, and a busy thread queue); each node replays it', async () => {
    const a = new HttpClient(nodes.a.url, nodes.a.token('gina'));
    const b = new HttpClient(nodes.b.url, nodes.b.token('gina'));
    const fresh = await race({ agent: 'echo', input: { text: 'cluster race' } }, `k-${randomUUID()}`);
    expect(new Set(fresh.map((r) => r.runId)).size).toBe(1);
    expect(fresh.filter((r) => !r.replayed)).toHaveLength(1);

    const threadId = `busy-${randomUUID()}`;
    const busy = await a.post('/runs', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 }, threadId });
    expect(busy.status).toBe(202);
    const queued = await race({ agent: 'echo', input: { text: 'queued race' }, threadId }, `q-${randomUUID()}`);
    expect(new Set(queued.map((r) => r.runId)).size).toBe(1);
    expect(queued.filter((r) => !r.replayed)).toHaveLength(1);
    const onThread = (await b.get(`/threads/${threadId}`)).body.runs as { runId: string; status: string }[];
    expect(onThread.map((r) => r.runId)).toEqual([busy.body.runId, queued[0].runId]);
    expect(onThread[1].status).toBe('queued');
    await a.post(`/runs/${busy.body.runId}/cancel`);

    const listed = (await b.get('/runs?limit=100')).body.runs as { input: { text?: string } }[];
    expect(listed.filter((r) => r.input?.text === 'cluster race')).toHaveLength(1);
    expect(listed.filter((r) => r.input?.text === 'queued race')).toHaveLength(1);
  });
});
