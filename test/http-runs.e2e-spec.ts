import * as jwt from 'jsonwebtoken';
import { afterMillisecond, HttpClient } from './support/http-client';
import { expectWellFormedRun, ofRun, recordEvents, roundTrip, startTestApp, TestApp, waitForTerminal } from './support/test-app';

/** The fields a run may have over HTTP (DESIGN.md): nothing internal such as userId or nodeId. */
const RUN_FIELDS = new Set(['runId', 'threadId', 'agent', 'status', 'input', 'result', 'error', 'createdAt', 'finishedAt', 'lastSeq']);

async function waitForStatus(http: HttpClient, runId: string, predicate: (status: string) => boolean): Promise<any> {
  let run: any;
  const deadline = Date.now() + 10_000;
  for (;;) {
    run = (await http.get(`/runs/${runId}`)).body;
    if (predicate(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} stayed ${run.status}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('HTTP runs API', () => {
  let t: TestApp;
  let alice: HttpClient;
  let bob: HttpClient;
  beforeAll(async () => {
    t = await startTestApp();
    alice = new HttpClient(t.url, t.token('alice'));
    bob = new HttpClient(t.url, t.token('bob'));
  });
  afterAll(() => t.close());

  describe('authentication', () => {
    const routes: Array<[string, string]> = [
      ['POST', '/runs'],
      ['GET', '/runs'],
      ['GET', '/runs/some-run'],
      ['GET', '/runs/some-run/events'],
      ['GET', '/runs/some-run/stream'],
      ['POST', '/runs/some-run/cancel'],
      ['GET', '/agents'],
    ];

    it.each(routes)('%s %s without a token is 401 UNAUTHORIZED', async (method, path) => {
      const res = await alice.as(undefined).send(method, path, method === 'POST' ? '{"agent":"echo"}' : undefined);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: expect.any(String) });
    });

    it.each([
      ['garbage', 'not-a-jwt'],
      ['another secret', jwt.sign({ sub: 'alice' }, 'some-other-secret-0123456789', { algorithm: 'HS256' })],
      [
        'expired',
        jwt.sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 }, 'test-secret-0123456789abcdef', { algorithm: 'HS256' }),
      ],
    ])('a bad token (%s) is 401 UNAUTHORIZED', async (_what, token) => {
      const res = await alice.as(token).get('/runs');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
    });

    it('a non-Bearer Authorization header is 401', async () => {
      const res = await alice.as(undefined).get('/runs', { Authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
    });
  });

  describe('POST /runs', () => {
    it('answers 202 with the run id, thread id and status running, and the run completes', async () => {
      const res = await alice.post('/runs', { agent: 'echo', input: { text: 'hello' } });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ runId: expect.any(String), threadId: expect.any(String), status: 'running' });
      const run = await waitForStatus(alice, res.body.runId, (s) => s !== 'running');
      expect(run).toMatchObject({
        runId: res.body.runId,
        threadId: res.body.threadId,
        agent: 'echo',
        status: 'completed',
        result: 'hello',
      });
    });

    it("keeps the caller's threadId", async () => {
      const res = await alice.post('/runs', { agent: 'echo', input: { text: 'x' }, threadId: 'thread-42' });
      expect(res.status).toBe(202);
      expect(res.body.threadId).toBe('thread-42');
    });

    it('?wait=true answers 200 with the finished run', async () => {
      const res = await alice.post('/runs?wait=true', { agent: 'calculator', input: { expression: '(1 + 2) × 4' } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        runId: expect.any(String),
        threadId: expect.any(String),
        agent: 'calculator',
        status: 'completed',
        input: { expression: '(1 + 2) × 4' },
        result: 12,
        createdAt: expect.any(String),
        finishedAt: expect.any(String),
        lastSeq: 5,
      });
    });

    it('?wait=true answers 200 with the error of a failed run', async () => {
      const res = await alice.post('/runs?wait=true', { agent: 'failing', input: { message: 'boom' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'failed', error: { code: 'AGENT_FAILED', message: 'boom' } });
      expect(res.body.result).toBeUndefined();
    });

    it('a client that goes away while waiting does not cancel the run', async () => {
      const walker = new HttpClient(t.url, t.token('walker'));
      const controller = new AbortController();
      const waiting = walker.post(
        '/runs?wait=true',
        { agent: 'countdown', input: { steps: 3, intervalMs: 100 } },
        { signal: controller.signal },
      );
      let running: any[] = [];
      const deadline = Date.now() + 10_000;
      while (running.length === 0 && Date.now() < deadline) {
        running = (await walker.get('/runs?status=running')).body.runs;
      }
      expect(running).toHaveLength(1);
      controller.abort();
      await expect(waiting).rejects.toThrow();
      const run = await waitForStatus(walker, running[0].runId, (s) => s !== 'running');
      expect(run.status).toBe('completed');
      expect(run.result).toBe(3);
    });

    it.each([
      ['no agent', { input: { text: 'x' } }],
      ['agent not a string', { agent: 42 }],
      ['an empty agent', { agent: '' }],
      ['a bad threadId', { agent: 'echo', input: { text: 'x' }, threadId: 'has spaces' }],
      ['input the agent refuses', { agent: 'echo', input: { text: 7 } }],
      ['an array as body', []],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_what, body) => {
      const res = await alice.post('/runs', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.any(String) });
    });

    it('refuses a body that is not JSON with 400 VALIDATION_FAILED', async () => {
      const res = await alice.postRaw('/runs', '{"agent": "echo",');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    });

    it('refuses ?wait=maybe with 400 VALIDATION_FAILED', async () => {
      const res = await alice.post('/runs?wait=maybe', { agent: 'echo', input: { text: 'x' } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('refuses an unknown agent with 404 UNKNOWN_AGENT', async () => {
      const res = await alice.post('/runs', { agent: 'ecko', input: { text: 'x' } });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'UNKNOWN_AGENT' });
      expect(res.body.message).toContain("Did you mean 'echo'?");
    });

    it('drops __proto__ keys of the input instead of passing them on', async () => {
      const res = await alice.postRaw('/runs?wait=true', '{"agent":"echo","input":{"text":"p","__proto__":{"polluted":true}}}');
      expect(res.status).toBe(200);
      expect(res.body.input).toEqual({ text: 'p' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('a run started over HTTP', () => {
    it('streams to every socket of its user and to no other user', async () => {
      const carolSocket = await t.connect('carol');
      const carolTab2 = await t.connect('carol');
      const daveSocket = await t.connect('dave');
      const carolEvents = recordEvents(carolSocket);
      const carolTab2Events = recordEvents(carolTab2);
      const daveEvents = recordEvents(daveSocket);
      const carol = new HttpClient(t.url, t.token('carol'));
      const started = await carol.post('/runs', { agent: 'echo', input: { text: 'over http' } });
      expect(started.status).toBe(202);
      const { runId, threadId } = started.body;
      await waitForTerminal(carolEvents, runId);
      await waitForTerminal(carolTab2Events, runId);
      // Anything the server sent dave before this ack has arrived by now.
      await roundTrip(daveSocket);
      expect(daveEvents).toEqual([]);
      const types = expectWellFormedRun(ofRun(carolEvents, runId), { runId, threadId, agent: 'echo' });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);
      // The socket saw exactly what the store holds.
      const stored = await carol.get(`/runs/${runId}/events`);
      expect(stored.body.events).toEqual(ofRun(carolEvents, runId));
      expect(ofRun(carolTab2Events, runId)).toEqual(ofRun(carolEvents, runId));
    });
  });

  describe('GET /runs/:runId', () => {
    it('answers the run in the contract shape, without internal fields', async () => {
      const started = await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'shape' } });
      const res = await alice.get(`/runs/${started.body.runId}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(started.body);
      for (const key of Object.keys(res.body)) expect(RUN_FIELDS.has(key)).toBe(true);
      expect(res.body).not.toHaveProperty('userId');
      expect(res.body).not.toHaveProperty('nodeId');
      expect(res.body).toMatchObject({ status: 'completed', result: 'shape', lastSeq: 4 });
      expect(Date.parse(res.body.finishedAt)).toBeGreaterThanOrEqual(Date.parse(res.body.createdAt));
    });

    it("is 404 RUN_NOT_FOUND for another user's run and for an unknown run, alike", async () => {
      const started = await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'mine' } });
      const foreign = await bob.get(`/runs/${started.body.runId}`);
      const unknown = await bob.get('/runs/00000000-0000-4000-8000-000000000000');
      expect(foreign.status).toBe(404);
      expect(foreign.body).toEqual({ statusCode: 404, code: 'RUN_NOT_FOUND', message: expect.any(String) });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('RUN_NOT_FOUND');
      expect(foreign.body.message.replace(started.body.runId, 'X')).toBe(
        unknown.body.message.replace('00000000-0000-4000-8000-000000000000', 'X'),
      );
    });
  });

  describe('GET /runs/:runId/events', () => {
    let runId: string;
    let all: any[];
    beforeAll(async () => {
      runId = (await alice.post('/runs?wait=true', { agent: 'calculator', input: { expression: '2 + 2' } })).body.runId;
      all = (await alice.get(`/runs/${runId}/events`)).body.events;
    });

    it('answers every stored event, in order', () => {
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(all.map((e) => e.type)).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
      expect(all[4].data).toMatchObject({ result: 4 });
    });

    it('answers only events after afterSeq', async () => {
      const res = await alice.get(`/runs/${runId}/events?afterSeq=3`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ events: all.slice(3) });
      expect((await alice.get(`/runs/${runId}/events?afterSeq=5`)).body).toEqual({ events: [] });
    });

    it.each(['-1', 'abc', '1.5'])('refuses afterSeq=%s with 400 VALIDATION_FAILED', async (afterSeq) => {
      const res = await alice.get(`/runs/${runId}/events?afterSeq=${afterSeq}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('is 404 RUN_NOT_FOUND for another user', async () => {
      const res = await bob.get(`/runs/${runId}/events`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('RUN_NOT_FOUND');
    });
  });

  describe('POST /runs/:runId/cancel', () => {
    it('cancels a running run: 202 { runId, status }, then 409 RUN_FINISHED', async () => {
      const started = await alice.post('/runs', { agent: 'countdown', input: { steps: 100, intervalMs: 1000 } });
      const res = await alice.post(`/runs/${started.body.runId}/cancel`);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ runId: started.body.runId, status: 'cancelled' });
      const run = (await alice.get(`/runs/${started.body.runId}`)).body;
      expect(run.status).toBe('cancelled');
      const events = (await alice.get(`/runs/${started.body.runId}/events`)).body.events;
      expect(events[events.length - 1]).toMatchObject({ type: 'agent_cancelled', data: { reason: 'user' } });

      const again = await alice.post(`/runs/${started.body.runId}/cancel`);
      expect(again.status).toBe(409);
      expect(again.body).toEqual({ statusCode: 409, code: 'RUN_FINISHED', message: expect.any(String) });
    });

    it('is 409 RUN_FINISHED for a completed run', async () => {
      const done = await alice.post('/runs?wait=true', { agent: 'echo', input: { text: 'done' } });
      const res = await alice.post(`/runs/${done.body.runId}/cancel`);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('RUN_FINISHED');
    });

    it("is 404 RUN_NOT_FOUND for another user's running run, which keeps running", async () => {
      const started = await alice.post('/runs', { agent: 'countdown', input: { steps: 100, intervalMs: 1000 } });
      const res = await bob.post(`/runs/${started.body.runId}/cancel`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('RUN_NOT_FOUND');
      expect((await alice.get(`/runs/${started.body.runId}`)).body.status).toBe('running');
      expect((await alice.post(`/runs/${started.body.runId}/cancel`)).status).toBe(202);
    });

    it('is 404 RUN_NOT_FOUND for an unknown run', async () => {
      const res = await alice.post('/runs/no-such-run/cancel');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('RUN_NOT_FOUND');
    });
  });

  describe('GET /runs', () => {
    const pager = () => new HttpClient(t.url, t.token('pager'));
    const created: string[] = [];
    let failedRunId: string;

    beforeAll(async () => {
      const http = pager();
      let last = '';
      for (let i = 0; i < 23; i++) {
        // Each run gets a later createdAt than the one before, so "newest first" has one right answer.
        if (last) await afterMillisecond(last);
        const run = (
          await http.post('/runs?wait=true', i === 10 ? { agent: 'failing', input: {} } : { agent: 'echo', input: { text: `#${i}` } })
        ).body;
        if (i === 10) failedRunId = run.runId;
        created.push(run.runId);
        last = run.createdAt;
      }
    });

    it("answers the caller's runs newest first, 20 by default", async () => {
      const res = await pager().get('/runs');
      expect(res.status).toBe(200);
      expect(res.body.runs.map((r: any) => r.runId)).toEqual(created.slice(-20).reverse());
      for (const run of res.body.runs) for (const key of Object.keys(run)) expect(RUN_FIELDS.has(key)).toBe(true);
    });

    it('honours limit', async () => {
      const res = await pager().get('/runs?limit=5');
      expect(res.body.runs.map((r: any) => r.runId)).toEqual(created.slice(-5).reverse());
      const all = await pager().get('/runs?limit=100');
      expect(all.body.runs.map((r: any) => r.runId)).toEqual([...created].reverse());
    });

    it.each(['0', '101', '-3', 'ten', '2.5'])('refuses limit=%s with 400 VALIDATION_FAILED (pages hold 1 to 100 runs)', async (limit) => {
      const res = await pager().get(`/runs?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('filters by status', async () => {
      const failed = await pager().get('/runs?status=failed');
      expect(failed.body.runs.map((r: any) => r.runId)).toEqual([failedRunId]);
      const completed = await pager().get('/runs?status=completed&limit=100');
      expect(completed.body.runs).toHaveLength(22);
      expect(completed.body.runs.every((r: any) => r.status === 'completed')).toBe(true);
      expect((await pager().get('/runs?status=running')).body.runs).toEqual([]);
    });

    it('refuses an unknown status with 400 VALIDATION_FAILED', async () => {
      const res = await pager().get('/runs?status=finished');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [{ field: 'status' }] } });
    });

    it("never lists another user's runs", async () => {
      const res = await new HttpClient(t.url, t.token('stranger')).get('/runs?limit=100');
      expect(res.body.runs).toEqual([]);
    });
  });

  describe('GET /agents', () => {
    it('lists the registered agents with their descriptions', async () => {
      const res = await alice.get('/agents');
      expect(res.status).toBe(200);
      expect(res.body.map((a: any) => a.name)).toEqual(expect.arrayContaining(['echo', 'calculator', 'countdown', 'failing']));
      for (const agent of res.body) {
        expect(agent).toEqual({
          name: expect.any(String),
          description: expect.any(String),
          inputSchema: expect.any(Object),
          durable: expect.any(Boolean),
        });
      }
    });
  });

  it('answers an unknown route with 404 NOT_FOUND in the error shape', async () => {
    const res = await alice.get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
  });
});

describe('HTTP runs API limits', () => {
  it('refuses a body over the size limit with 413 PAYLOAD_TOO_LARGE, and an input over MAX_INPUT_BYTES too', async () => {
    const t = await startTestApp({ MAX_INPUT_BYTES: '1024' });
    try {
      const http = new HttpClient(t.url, t.token('alice'));
      const huge = await http.post('/runs', { agent: 'echo', input: { text: 'x'.repeat(64 * 1024) } });
      expect(huge.status).toBe(413);
      expect(huge.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
      // Small enough for the body parser, too big for the input limit.
      const big = await http.post('/runs', { agent: 'echo', input: { text: 'x'.repeat(2000) } });
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE', details: { limit: 1024 } });
      expect((await http.post('/runs', { agent: 'echo', input: { text: 'x'.repeat(900) } })).status).toBe(202);
    } finally {
      await t.close();
    }
  });

  it('refuses a run over MAX_CONCURRENT_RUNS_PER_USER with 429 TOO_MANY_RUNS', async () => {
    const t = await startTestApp({ MAX_CONCURRENT_RUNS_PER_USER: '1' });
    try {
      const http = new HttpClient(t.url, t.token('alice'));
      const first = await http.post('/runs', { agent: 'countdown', input: { steps: 100, intervalMs: 1000 } });
      expect(first.status).toBe(202);
      const second = await http.post('/runs', { agent: 'echo', input: { text: 'x' } });
      expect(second.status).toBe(429);
      expect(second.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_RUNS', details: { active: 1, limit: 1 } });
      // Another user is not affected.
      expect((await new HttpClient(t.url, t.token('bob')).post('/runs', { agent: 'echo', input: { text: 'x' } })).status).toBe(202);
      expect((await http.post(`/runs/${first.body.runId}/cancel`)).status).toBe(202);
      expect((await http.post('/runs', { agent: 'echo', input: { text: 'x' } })).status).toBe(202);
    } finally {
      await t.close();
    }
  });

  it('refuses a start over RATE_LIMIT_RUNS_PER_MINUTE with 429 RATE_LIMITED and Retry-After', async () => {
    const t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '2' });
    try {
      const http = new HttpClient(t.url, t.token('alice'));
      expect((await http.post('/runs?wait=true', { agent: 'echo', input: { text: '1' } })).status).toBe(200);
      expect((await http.post('/runs?wait=true', { agent: 'echo', input: { text: '2' } })).status).toBe(200);
      const third = await http.post('/runs', { agent: 'echo', input: { text: '3' } });
      expect(third.status).toBe(429);
      expect(third.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
      const retryAfter = Number(third.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    } finally {
      await t.close();
    }
  });
});
