import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pinoHttp from 'pino-http';
import { pinoHttpOptions } from './pino-http.options';

/** A real HTTP server logging through pino-http with the server's options into `lines`. */
async function serve(
  level: Parameters<typeof pinoHttpOptions>[0],
  lines: any[],
  userId?: string,
): Promise<{ url: string; server: Server }> {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pinoHttp(pinoHttpOptions(level), sink);
  const server = createServer((req, res) => {
    logger(req, res);
    // What BearerAuthGuard does for an authenticated request.
    if (userId) (req as { userId?: string }).userId = userId;
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('pinoHttpOptions', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('logs a request as one JSON line without the bearer token, with the user and a request id', async () => {
    const lines: any[] = [];
    const { url, server } = await serve('info', lines, 'alice');
    servers.push(server);
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.secret-signature';
    const res = await fetch(`${url}/runs`, { headers: { Authorization: `Bearer ${token}`, Cookie: 'session=abc' } });
    await res.text();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(JSON.stringify(line)).not.toContain(token);
    expect(JSON.stringify(line)).not.toContain('session=abc');
    expect(line.req.headers.authorization).toBe('[redacted]');
    expect(line.req.headers.cookie).toBe('[redacted]');
    expect(line).toMatchObject({ level: 30, userId: 'alice', msg: 'request completed', res: { statusCode: 200 } });
    expect(line.req.id).toBe(res.headers.get('x-request-id'));
    expect(typeof line.time).toBe('string');
  });

  it("keeps a sane caller's X-Request-Id and replaces an unsafe one", async () => {
    const lines: any[] = [];
    const { url, server } = await serve('info', lines);
    servers.push(server);
    const kept = await fetch(`${url}/x`, { headers: { 'X-Request-Id': 'trace-123' } });
    const replaced = await fetch(`${url}/x`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123');
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id with spaces');
    expect(lines.map((l) => l.req.id)).toEqual(['trace-123', replaced.headers.get('x-request-id')]);
  });

  it('logs 4xx as warn, skips /health and /metrics, and says nothing when silent', async () => {
    const lines: any[] = [];
    const { url, server } = await serve('info', lines);
    servers.push(server);
    await fetch(`${url}/health`);
    await fetch(`${url}/metrics`);
    await fetch(`${url}/missing`);
    expect(lines.map((l) => [l.level, l.req.url])).toEqual([[40, '/missing']]);

    const quiet: any[] = [];
    const silent = await serve('silent', quiet);
    servers.push(silent.server);
    await fetch(`${silent.url}/missing`);
    await fetch(`${silent.url}/runs`);
    expect(quiet).toEqual([]);
  });
});
