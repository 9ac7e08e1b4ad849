import { randomUUID } from 'node:crypto';
import { HttpClient } from './support/http-client';
import { startTestApp, type TestApp } from './support/test-app';

/** One AG-UI POST, read to its end: our run id (`X-Run-Id`) and the AG-UI events with their SSE ids. */
async function post(
  t: TestApp,
  user: string,
  body: Record<string, unknown>,
): Promise<{ runId: string; frames: { id: string; event: Record<string, unknown> }[] }> {
  const res = await fetch(`${t.url}/ag-ui/agents/countdown`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token(user)}` },
    body: JSON.stringify({ messages: [], tools: [], context: [], state: {}, ...body }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  const frames = text
    .split('\n\n')
    .filter((f) => f.includes('data: '))
    .map((f) => ({ id: /^id: (.*)$/m.exec(f)![1], event: JSON.parse(/^data: (.*)$/m.exec(f)![1]) as Record<string, unknown> }));
  return { runId: res.headers.get('x-run-id')!, frames };
}

describe('AG-UI: a repeated POST (the same runId on the same thread)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_RUNS_PER_MINUTE: '0' });
  });
  afterAll(() => t?.close());

  it('streams the run the first POST started, from its first event, instead of starting another', async () => {
    const threadId = `agui-${randomUUID()}`;
    const body = { threadId, runId: 'client-run-7', forwardedProps: { input: { steps: 4, intervalMs: 40 } } };
    // The second POST comes while the first run is still going (a client that retried a slow request).
    const firstPending = post(t, 'hana', body);
    await new Promise((r) => setTimeout(r, 60));
    const [first, second] = await Promise.all([firstPending, post(t, 'hana', body)]);
    expect(second.runId).toBe(first.runId);
    expect(second.frames).toEqual(first.frames);
    expect(first.frames[0].event).toMatchObject({ type: 'RUN_STARTED', runId: 'client-run-7', threadId });
    expect(first.frames.at(-1)!.event).toMatchObject({ type: 'RUN_FINISHED', result: 4 });
    // And once it has ended, a third time gives the same stream again.
    expect((await post(t, 'hana', body)).frames).toEqual(first.frames);

    const http = new HttpClient(t.url, t.token('hana'));
    expect((await http.get(`/threads/${threadId}`)).body.runs.map((r: { runId: string }) => r.runId)).toEqual([first.runId]);
  });

  it('starts a run of its own for the same runId on another thread, or for another user', async () => {
    const body = { runId: 'same-client-run', forwardedProps: { input: { steps: 1, intervalMs: 0 } } };
    const a = await post(t, 'hana', { ...body, threadId: `agui-a-${randomUUID()}` });
    const b = await post(t, 'hana', { ...body, threadId: `agui-b-${randomUUID()}` });
    const sameThreadOtherUser = await post(t, 'ivan', { ...body, threadId: `agui-a-${randomUUID()}` });
    expect(new Set([a.runId, b.runId, sameThreadOtherUser.runId]).size).toBe(3);
  });

  it('answers another request under the same runId on the thread with 422 IDEMPOTENCY_CONFLICT, before any stream', async () => {
    const threadId = `agui-c-${randomUUID()}`;
    await post(t, 'hana', { threadId, runId: 'c', forwardedProps: { input: { steps: 1, intervalMs: 0 } } });
    const http = new HttpClient(t.url, t.token('hana'));
    const other = await http.post('/ag-ui/agents/countdown', {
      threadId,
      runId: 'c',
      messages: [],
      forwardedProps: { input: { steps: 2, intervalMs: 0 } },
    });
    expect(other).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_CONFLICT', details: { field: 'input' } } });
  });
});
