import { AsyncLocalStorage } from 'node:async_hooks';
import { symbols } from 'pino';
import { HttpRequestLogger } from '../src/observability/logging/http-request.logger';
import { startTestApp, type TestApp } from './support/test-app';

describe('HTTP request logging and run lines', () => {
  let t: TestApp;
  let lines: any[];
  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'info' });
  });
  afterAll(() => t.close());
  beforeEach(() => {
    lines = [];
    const logger = t.app.get(HttpRequestLogger).logger as unknown as Record<symbol, { write(line: string): boolean }>;
    const stream = logger[symbols.streamSym];
    jest.spyOn(stream, 'write').mockImplementation((chunk: string) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('writes a line per request with its id and user, echoing the id', async () => {
    const res = await fetch(`${t.url}/runs`, { headers: { Authorization: `Bearer ${t.token('alice')}`, 'X-Request-Id': 'trace-42' } });
    await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        reqId: 'trace-42',
        userId: 'alice',
        res: expect.objectContaining({ statusCode: 200 }),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(t.token('alice').split('.')[2]);
  });

  // One AsyncLocalStorage.run turns on async-context tracking for every promise, timer and
  // socket write of the process from then on: the socket path must not pay for health checks.
  it('does not run requests inside AsyncLocalStorage', async () => {
    const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
    const enterWith = jest.spyOn(AsyncLocalStorage.prototype, 'enterWith');
    for (const path of ['/health', '/runs', '/metrics', '/no-such-route']) {
      const res = await fetch(`${t.url}${path}`, { headers: { Authorization: `Bearer ${t.token('bob')}` } });
      await res.text();
    }
    expect(run).not.toHaveBeenCalled();
    expect(enterWith).not.toHaveBeenCalled();
    expect(lines.map((l) => [l.level, l.req.url])).toEqual([
      [30, '/runs'],
      [40, '/no-such-route'],
    ]);
  });

  it('writes one line when a run ends, through the same logger, with its run and user ids', async () => {
    const socket = await t.connect('carol');
    const ack = await socket.timeout(5000).emitWithAck('run:start', { agent: 'echo', input: { text: 'logged' } });
    expect(ack).toMatchObject({ ok: true });
    await waitForLine((l) => l.context === 'Runs' && l.runId === ack.runId);
    expect(lines.filter((l) => l.runId === ack.runId)).toEqual([
      expect.objectContaining({ level: 30, msg: 'Run completed (echo)', userId: 'carol', agent: 'echo', outcome: 'completed' }),
    ]);
  });

  async function waitForLine(match: (line: any) => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!lines.some(match)) {
      if (Date.now() > deadline) throw new Error(`no such line in ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
});
