import { PIPELINE_OPTIONS } from '../packages/nestjs/src/pipeline.tokens';
import { HttpClient } from './support/http-client';
import { metricValue } from './support/metrics';
import { createTestSchema, postgresUrl, type TestSchema } from './support/shared-services';
import { command, startTestApp, type TestApp } from './support/test-app';

/**
 * Conversations over HTTP (DESIGN.md, "Runs and threads" and the HTTP table): paged run listings,
 * the thread listing, one thread, deletion, and the rule that a thread belongs to its user. Runs
 * against the SQLite file store and, when TEST_DATABASE_URL names a server, PostgreSQL.
 */
const backends: Array<{ name: string; schema?: () => Promise<TestSchema> }> = [{ name: 'SQLite file' }];
const pg = postgresUrl();
if (pg) backends.push({ name: 'PostgreSQL', schema: () => createTestSchema(pg, 'threads_e2e') });

describe.each(backends)('threads API ($name store)', ({ schema }) => {
  let t: TestApp;
  let db: TestSchema | undefined;
  let n = 0;
  const thread = () => `conv-${++n}`;
  const client = (userId: string) => new HttpClient(t.url, t.token(userId));

  beforeAll(async () => {
    db = await schema?.();
    t = await startTestApp({
      MAX_CONCURRENT_RUNS_PER_USER: '64',
      RATE_LIMIT_RUNS_PER_MINUTE: '0',
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** Runs echo on `threadId` (a new thread when absent) and waits for it to end. */
  async function echo(http: HttpClient, text: string, threadId?: string): Promise<any> {
    const res = await http.post('/runs?wait=true', { agent: 'echo', input: { text }, ...(threadId ? { threadId } : {}) });
    expect(res.status).toBe(200);
    return res.body;
  }

  it('pages 250 runs in pages of 100 while new runs arrive: each run seen exactly once, newest first', async () => {
    const pager = client('pager');
    const existing: string[] = [];
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, j) => echo(pager, `m${i + j}`)));
      existing.push(...batch.map((r) => r.runId));
    }
    const seen: any[] = [];
    const pages: number[] = [];
    let before: string | null | undefined;
    let arriving: Promise<unknown> = Promise.resolve();
    do {
      const res = await pager.get(`/runs?limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.runs);
      pages.push(res.body.runs.length);
      before = res.body.next;
      // New runs land between (and during) page reads.
      await arriving;
      arriving = Promise.all(Array.from({ length: 7 }, (_, j) => echo(pager, `late ${j}`)));
    } while (before);
    await arriving;
    const ids = seen.map((r) => r.runId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of existing) expect(ids.filter((x) => x === id)).toHaveLength(1);
    expect(pages).toEqual([100, 100, 50]);
    const keys = seen.map((r) => `${r.createdAt}|${r.runId}`);
    expect(keys).toEqual([...keys].sort().reverse());
  });

  it('filters GET /runs by threadId and status, and refuses a cursor no page gave out', async () => {
    const filt = client('filterer');
    const threadId = thread();
    const a = await echo(filt, 'one', threadId);
    const b = await echo(filt, 'two', threadId);
    await echo(filt, 'elsewhere');
    const failed = (await filt.post('/runs?wait=true', { agent: 'failing', input: { message: 'no' }, threadId })).body;
    const byThread = await filt.get(`/runs?threadId=${threadId}&limit=2`);
    expect(byThread.body.runs.map((r: any) => r.runId)).toEqual([failed.runId, b.runId]);
    const rest = await filt.get(`/runs?threadId=${threadId}&limit=2&before=${encodeURIComponent(byThread.body.next)}`);
    expect(rest.body).toEqual({ runs: [expect.objectContaining({ runId: a.runId })], next: null });
    expect((await filt.get(`/runs?threadId=${threadId}&status=failed`)).body.runs.map((r: any) => r.runId)).toEqual([failed.runId]);
    for (const bad of ['garbage', Buffer.from('["not a date","x"]').toString('base64url')]) {
      const res = await filt.get(`/runs?before=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [expect.objectContaining({ field: 'before' })] } });
    }
    expect((await filt.get('/threads?before=garbage')).body.code).toBe('VALIDATION_FAILED');
  });

  it('lists threads most recently active first, titled by their first input (≤ 80 chars), with agent, runs and last status; pages', async () => {
    const lister = client('lister');
    const long = `${'Plan a trip to the mountains with three friends and a dog, '.repeat(3)}please.`;
    const older = thread();
    const newer = thread();
    await echo(lister, long, older);
    await echo(lister, 'Short one', newer);
    await lister.post('/runs?wait=true', { agent: 'calculator', input: { expression: '1 / 0' }, threadId: older });
    const res = await lister.get('/threads');
    expect(res.status).toBe(200);
    expect(res.body.next).toBeNull();
    expect(res.body.threads).toEqual([
      { threadId: older, title: expect.any(String), agent: 'calculator', runs: 2, lastRunAt: expect.any(String), lastStatus: 'failed' },
      { threadId: newer, title: 'Short one', agent: 'echo', runs: 1, lastRunAt: expect.any(String), lastStatus: 'completed' },
    ]);
    const title: string = res.body.threads[0].title;
    expect(Array.from(title).length).toBeLessThanOrEqual(80);
    expect(long.startsWith(title.replace(/…$/, ''))).toBe(true);
    expect(title.length).toBeGreaterThan(60);
    const first = await lister.get('/threads?limit=1');
    expect(first.body.threads.map((x: any) => x.threadId)).toEqual([older]);
    const second = await lister.get(`/threads?limit=1&before=${encodeURIComponent(first.body.next)}`);
    expect(second.body).toEqual({ threads: [expect.objectContaining({ threadId: newer })], next: null });
  });

  it('GET /threads/:threadId answers the runs oldest first; 404 THREAD_NOT_FOUND for an unknown thread and for another user', async () => {
    const owner = client('owner');
    const threadId = thread();
    const r1 = await echo(owner, 'first', threadId);
    const r2 = await echo(owner, 'second', threadId);
    const res = await owner.get(`/threads/${threadId}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      threadId,
      runs: [
        expect.objectContaining({ runId: r1.runId, status: 'completed', result: 'first', input: { text: 'first' } }),
        expect.objectContaining({ runId: r2.runId, result: 'second' }),
      ],
    });
    for (const [who, id] of [
      [owner, 'no-such-thread'],
      [client('stranger'), threadId],
    ] as const) {
      const missing = await who.get(`/threads/${id}`);
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ statusCode: 404, code: 'THREAD_NOT_FOUND', message: expect.any(String) });
    }
  });

  it('two users with one threadId have two threads: separate listings and deletion', async () => {
    const ann = client('ann');
    const ben = client('ben');
    const threadId = thread();
    const annRun = await echo(ann, 'ann speaking', threadId);
    const benRun = await echo(ben, 'ben speaking', threadId);
    expect((await ann.get(`/threads/${threadId}`)).body.runs.map((r: any) => r.runId)).toEqual([annRun.runId]);
    expect((await ben.get('/threads')).body.threads).toEqual([expect.objectContaining({ threadId, title: 'ben speaking', runs: 1 })]);
    expect((await ben.get(`/runs?threadId=${threadId}`)).body.runs.map((r: any) => r.runId)).toEqual([benRun.runId]);
    expect((await ben.send('DELETE', `/threads/${threadId}`)).status).toBe(204);
    expect((await ann.get(`/threads/${threadId}`)).body.runs.map((r: any) => r.runId)).toEqual([annRun.runId]);
    expect((await ann.get(`/runs/${annRun.runId}/events`)).body.events).toHaveLength(4);
    expect((await ben.get(`/threads/${threadId}`)).status).toBe(404);
  });

  it('DELETE of a finished thread: 204, then gone from runs, events, replay, listings; the metric counts the runs', async () => {
    const del = client('deleter');
    const threadId = thread();
    const r1 = await echo(del, 'to forget', threadId);
    const r2 = await echo(del, 'also this', threadId);
    const kept = await echo(del, 'keep me');
    const counted = await metricValue(t.url, 'agent_pipeline_runs_deleted_total', { reason: 'thread_deleted' });
    const res = await del.send('DELETE', `/threads/${threadId}`);
    expect(res.status).toBe(204);
    expect(await metricValue(t.url, 'agent_pipeline_runs_deleted_total', { reason: 'thread_deleted' })).toBe(counted + 2);
    for (const run of [r1, r2]) {
      expect((await del.get(`/runs/${run.runId}`)).body.code).toBe('RUN_NOT_FOUND');
      expect((await del.get(`/runs/${run.runId}/events`)).body.code).toBe('RUN_NOT_FOUND');
    }
    const socket = await t.connect('deleter');
    expect(await command(socket, 'run:replay', { runId: r1.runId })).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
    expect((await del.get(`/runs?threadId=${threadId}`)).body).toEqual({ runs: [], next: null });
    expect((await del.get('/threads')).body.threads.map((x: any) => x.threadId)).toEqual([kept.threadId]);
    expect((await del.get(`/threads/${threadId}`)).status).toBe(404);
    const again = await del.send('DELETE', `/threads/${threadId}`);
    expect(again.status).toBe(404);
    expect((again.body as any).code).toBe('THREAD_NOT_FOUND');
    expect((await del.get(`/runs/${kept.runId}`)).body.status).toBe('completed');
  });

  it("DELETE of a busy thread is 409 THREAD_BUSY (running and queued runs alike); of another user's thread 404; then it deletes", async () => {
    const busy = client('busybody');
    const threadId = thread();
    const running = (await busy.post('/runs', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 }, threadId })).body;
    const queued = (await busy.post('/runs', { agent: 'echo', input: { text: 'later' }, threadId })).body;
    expect(queued.status).toBe('queued');
    const refused = await busy.send('DELETE', `/threads/${threadId}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'THREAD_BUSY', details: { threadId, inFlight: [running.runId, queued.runId] } });
    const stranger = await client('not-the-owner').send('DELETE', `/threads/${threadId}`);
    expect(stranger.status).toBe(404);
    expect((stranger.body as any).code).toBe('THREAD_NOT_FOUND');
    await busy.post(`/runs/${queued.runId}/cancel`);
    expect((await busy.send('DELETE', `/threads/${threadId}`)).status).toBe(409);
    await busy.post(`/runs/${running.runId}/cancel`);
    expect((await busy.get(`/runs/${running.runId}`)).body.status).toBe('cancelled');
    expect((await busy.send('DELETE', `/threads/${threadId}`)).status).toBe(204);
    expect((await busy.get(`/threads/${threadId}`)).status).toBe(404);
  });
});

describe('RUN_RETENTION_DAYS', () => {
  it('reaches the pipeline (default 0 = keep forever), and a bad value refuses to start', async () => {
    const plain = await startTestApp();
    const week = await startTestApp({ RUN_RETENTION_DAYS: '7' });
    try {
      expect(plain.app.get<{ runRetentionDays: number }>(PIPELINE_OPTIONS).runRetentionDays).toBe(0);
      expect(week.app.get<{ runRetentionDays: number }>(PIPELINE_OPTIONS).runRetentionDays).toBe(7);
    } finally {
      await plain.close();
      await week.close();
    }
    await expect(startTestApp({ RUN_RETENTION_DAYS: 'a month' })).rejects.toThrow(/RUN_RETENTION_DAYS/);
  });
});
