import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { HttpClient } from './support/http-client';
import { command, expectWellFormedRun, ofRun, recordEvents, startTestApp, waitForTerminal, type TestApp } from './support/test-app';

/** A fresh key, so tests sharing a user never share one by accident. */
const newKey = () => `key-${randomUUID()}`;

/** The user's runs as `GET /runs` lists them (newest first). */
async function runsOf(http: HttpClient, query = ''): Promise<{ runId: string; threadId: string; status: string; input: unknown }[]> {
  const answer = await http.get(`/runs?limit=100${query}`);
  expect(answer.status).toBe(200);
  return answer.body.runs;
}

describe('Idempotent starts (one node)', () => {
  let t: TestApp;
  let alice: HttpClient;
  let socket: Socket;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '0' });
    alice = new HttpClient(t.url, t.token('alice'));
    socket = await t.connect('alice');
  });
  afterAll(() => t?.close());

  it('socket: the same key twice makes one run; the second ack is replayed with the current status, and no event repeats', async () => {
    const events = recordEvents(socket);
    const key = newKey();
    const start = { agent: 'echo', input: { text: 'once' }, idempotencyKey: key };
    const first = await command(socket, 'run:start', start);
    expect(first).toEqual({ ok: true, runId: expect.any(String), threadId: expect.any(String), status: 'running' });
    await waitForTerminal(events, first.runId);
    const second = await command(socket, 'run:start', start);
    expect(second).toEqual({ ok: true, runId: first.runId, threadId: first.threadId, status: 'completed', replayed: true });
    // Input keys in another order are the same input.
    const reordered = await command(socket, 'run:start', { idempotencyKey: key, input: { text: 'once' }, agent: 'echo' });
    expect(reordered).toMatchObject({ ok: true, runId: first.runId, replayed: true });
    await command(socket, 'agents:list', {});
    expect(expectWellFormedRun(ofRun(events, first.runId), { runId: first.runId, threadId: first.threadId, agent: 'echo' })).toHaveLength(
      4,
    );
    expect((await runsOf(alice)).filter((r) => r.runId === first.runId)).toHaveLength(1);
    expect((await runsOf(alice)).filter((r) => (r.input as { text?: string })?.text === 'once')).toHaveLength(1);
  });

  it('HTTP: a repeat answers with the same status code and body, and Idempotent-Replayed: true', async () => {
    const key = newKey();
    const body = { agent: 'countdown', input: { steps: 3, intervalMs: 30 } };
    const first = await alice.post('/runs', body, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await alice.post('/runs', body, { headers: { 'Idempotency-Key': key } });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    // ?wait=true: 200 with the finished run, replayed or not.
    const waited = await alice.post('/runs?wait=true', body, { headers: { 'Idempotency-Key': key } });
    expect(waited.status).toBe(200);
    expect(waited.headers.get('idempotent-replayed')).toBe('true');
    expect(waited.body).toMatchObject({ runId: first.body.runId, status: 'completed', result: 3 });
    const again = await alice.post('/runs', body, { headers: { 'Idempotency-Key': key } });
    expect(again).toMatchObject({ status: 202, body: { runId: first.body.runId, threadId: first.body.threadId, status: 'completed' } });
    expect((await runsOf(alice)).filter((r) => r.runId === first.body.runId)).toHaveLength(1);
  });

  it("shares a user's key between the socket and HTTP; another user's equal key is a key of its own", async () => {
    const key = newKey();
    const viaSocket = await command(socket, 'run:start', { agent: 'echo', input: { text: 'shared' }, idempotencyKey: key });
    const viaHttp = await alice.post('/runs', { agent: 'echo', input: { text: 'shared' } }, { headers: { 'Idempotency-Key': key } });
    expect(viaHttp).toMatchObject({ status: 202, body: { runId: viaSocket.runId, threadId: viaSocket.threadId } });
    expect(viaHttp.headers.get('idempotent-replayed')).toBe('true');

    const bob = alice.as(t.token('bob'));
    const bobs = await bob.post('/runs', { agent: 'echo', input: { text: 'shared' } }, { headers: { 'Idempotency-Key': key } });
    expect(bobs.status).toBe(202);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(bobs.body.runId).not.toBe(viaSocket.runId);
    // Bob's second start with it is his own replay, and Alice never sees his run.
    const bobsAgain = await bob.post('/runs', { agent: 'echo', input: { text: 'shared' } }, { headers: { 'Idempotency-Key': key } });
    expect(bobsAgain.body.runId).toBe(bobs.body.runId);
    expect((await runsOf(alice)).map((r) => r.runId)).not.toContain(bobs.body.runId);
    expect((await bob.get(`/runs/${viaSocket.runId}`)).status).toBe(404);
  });

  it('refuses the same key with another request: IDEMPOTENCY_CONFLICT naming the field (422 over HTTP), and starts nothing', async () => {
    const key = newKey();
    const threadId = `conflict-${randomUUID()}`;
    const original = { agent: 'echo', input: { text: 'a' }, threadId, multitask: 'enqueue' };
    const first = await command(socket, 'run:start', { ...original, idempotencyKey: key });
    expect(first.ok).toBe(true);
    const cases: [Record<string, unknown>, string][] = [
      [{ input: { text: 'b' } }, 'input'],
      [{ agent: 'calculator', input: { expression: '1+1' } }, 'agent'],
      [{ threadId: `${threadId}-other` }, 'threadId'],
      [{ multitask: 'reject' }, 'multitask'],
    ];
    for (const [change, field] of cases) {
      const ack = await command(socket, 'run:start', { ...original, ...change, idempotencyKey: key });
      expect(ack).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_CONFLICT', details: { field, runId: first.runId } } });
      expect(ack.error.message).toContain(`another ${field}`);
      const http = await alice.post('/runs', { ...original, ...change }, { headers: { 'Idempotency-Key': key } });
      expect(http).toMatchObject({ status: 422, body: { statusCode: 422, code: 'IDEMPOTENCY_CONFLICT', details: { field } } });
    }
    // Leaving out what the first start said is another request too.
    const { multitask: _omitted, ...withoutPolicy } = original;
    void _omitted;
    const omitted = await command(socket, 'run:start', { ...withoutPolicy, idempotencyKey: key });
    expect(omitted).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_CONFLICT', details: { field: 'multitask' } } });
    expect((await runsOf(alice, `&threadId=${threadId}`)).map((r) => r.runId)).toEqual([first.runId]);
  });

  it('refuses a key that is empty, too long or not printable ASCII with VALIDATION_FAILED, on the socket and in the header', async () => {
    for (const bad of ['', 'k'.repeat(256), 'clé', 'tab\there', 42]) {
      const ack = await command(socket, 'run:start', { agent: 'echo', input: { text: 'x' }, idempotencyKey: bad });
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'idempotencyKey' }] } } });
    }
    for (const bad of ['k'.repeat(256), 'tab\there']) {
      const http = await alice
        .post('/runs', { agent: 'echo', input: { text: 'x' } }, { headers: { 'Idempotency-Key': bad } })
        .catch((e) => e);
      // fetch itself refuses a tab in a header value; what reaches the server is refused there.
      if (http instanceof Error) continue;
      expect(http).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'Idempotency-Key' }] } } });
    }
    const longest = 'k'.repeat(255);
    const ok = await command(socket, 'run:start', { agent: 'echo', input: { text: 'x' }, idempotencyKey: ` ~${longest.slice(2)}` });
    expect(ok).toMatchObject({ ok: true });
  });

  it('20 racing starts with one key (socket and HTTP, no thread) make one run; the others are replays', async () => {
    const key = newKey();
    const events = recordEvents(socket);
    const start = { agent: 'echo', input: { text: 'race' } };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? command(socket, 'run:start', { ...start, idempotencyKey: key })
          : alice.post('/runs', start, { headers: { 'Idempotency-Key': key } }).then((a) => ({ ok: a.status === 202, ...a.body, http: a })),
      ),
    );
    const runIds = new Set(answers.map((a) => a.runId));
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(runIds.size).toBe(1);
    const [runId] = runIds;
    const fresh = answers.filter((a) => (a.http ? a.http.headers.get('idempotent-replayed') !== 'true' : a.replayed !== true));
    expect(fresh).toHaveLength(1);
    await waitForTerminal(events, runId);
    expect((await runsOf(alice)).filter((r) => (r.input as { text?: string })?.text === 'race')).toHaveLength(1);
  });

  it('20 racing starts with one key on a busy thread (the queue) and through interrupt make one run each', async () => {
    for (const multitask of ['enqueue', 'interrupt'] as const) {
      const threadId = `race-${multitask}-${randomUUID()}`;
      const busy = await command(socket, 'run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 }, threadId });
      expect(busy.ok).toBe(true);
      const key = newKey();
      const start = { agent: 'echo', input: { text: `queued ${multitask}` }, threadId, multitask };
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? command(socket, 'run:start', { ...start, idempotencyKey: key })
            : alice.post('/runs', start, { headers: { 'Idempotency-Key': key } }).then((a) => ({ ok: a.status === 202, ...a.body })),
        ),
      );
      expect(answers.every((a) => a.ok)).toBe(true);
      expect(new Set(answers.map((a) => a.runId)).size).toBe(1);
      const runs = await runsOf(alice, `&threadId=${threadId}`);
      expect(runs.map((r) => r.runId).sort()).toEqual([busy.runId, answers[0].runId].sort());
      if (multitask === 'enqueue') await alice.post(`/runs/${busy.runId}/cancel`);
      const done = await alice.post('/runs?wait=true', start, { headers: { 'Idempotency-Key': key } });
      expect(done).toMatchObject({ status: 200, body: { runId: answers[0].runId, status: 'completed' } });
    }
  });

  it('a start refused by a limit or by validation records no key: the same key then starts the run', async () => {
    const limited = await startTestApp({ MAX_CONCURRENT_RUNS_PER_USER: '1', RATE_LIMIT_RUNS_PER_MINUTE: '3' });
    try {
      const carol = new HttpClient(limited.url, limited.token('carol'));
      const busy = await carol.post(
        '/runs',
        { agent: 'countdown', input: { steps: 10000, intervalMs: 20 } },
        { headers: { 'Idempotency-Key': 'busy' } },
      );
      expect(busy.status).toBe(202);
      // A replay is no new run: neither the concurrency limit nor the rate limit counts it.
      for (let i = 0; i < 5; i++) {
        const replay = await carol.post(
          '/runs',
          { agent: 'countdown', input: { steps: 10000, intervalMs: 20 } },
          { headers: { 'Idempotency-Key': 'busy' } },
        );
        expect(replay).toMatchObject({ status: 202, body: { runId: busy.body.runId, status: 'running' } });
      }
      const key = newKey();
      const refused = await carol.post('/runs', { agent: 'echo', input: { text: 'later' } }, { headers: { 'Idempotency-Key': key } });
      expect(refused).toMatchObject({ status: 429, body: { code: 'TOO_MANY_RUNS' } });
      const invalid = await carol.post('/runs', { agent: 'calculator', input: { expression: 5 } }, { headers: { 'Idempotency-Key': key } });
      expect(invalid).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
      await carol.post(`/runs/${busy.body.runId}/cancel`);
      const accepted = await carol.post(
        '/runs?wait=true',
        { agent: 'echo', input: { text: 'later' } },
        { headers: { 'Idempotency-Key': key } },
      );
      expect(accepted).toMatchObject({ status: 200, body: { status: 'completed', result: 'later' } });
      expect(accepted.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await limited.close();
    }
  });

  it('a key is free again after IDEMPOTENCY_TTL_MS, and when its thread is deleted', async () => {
    const short = await startTestApp({ IDEMPOTENCY_TTL_MS: '300', RATE_LIMIT_RUNS_PER_MINUTE: '0' });
    try {
      const dave = new HttpClient(short.url, short.token('dave'));
      const body = { agent: 'echo', input: { text: 'ttl' } };
      const first = await dave.post('/runs?wait=true', body, { headers: { 'Idempotency-Key': 'ttl' } });
      const replay = await dave.post('/runs', body, { headers: { 'Idempotency-Key': 'ttl' } });
      expect(replay.body.runId).toBe(first.body.runId);
      await new Promise((r) => setTimeout(r, 400));
      const later = await dave.post('/runs?wait=true', body, { headers: { 'Idempotency-Key': 'ttl' } });
      expect(later.headers.get('idempotent-replayed')).toBeNull();
      expect(later.body.runId).not.toBe(first.body.runId);
      // And the new run now holds it.
      expect((await dave.post('/runs', body, { headers: { 'Idempotency-Key': 'ttl' } })).body.runId).toBe(later.body.runId);
      expect((await runsOf(dave)).filter((r) => (r.input as { text?: string }).text === 'ttl')).toHaveLength(2);
    } finally {
      await short.close();
    }

    const threadId = `deleted-${randomUUID()}`;
    const body = { agent: 'echo', input: { text: 'thread' }, threadId };
    const key = newKey();
    const first = await alice.post('/runs?wait=true', body, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(200);
    expect((await alice.send('DELETE', `/threads/${threadId}`)).status).toBe(204);
    const after = await alice.post('/runs?wait=true', body, { headers: { 'Idempotency-Key': key } });
    expect(after).toMatchObject({ status: 200, body: { status: 'completed' } });
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    expect(after.body.runId).not.toBe(first.body.runId);
  });
});
