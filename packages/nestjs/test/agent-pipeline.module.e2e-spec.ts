import { Body, Controller, Get, Headers, Module, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsString } from 'class-validator';
import { io, type Socket } from 'socket.io-client';
import {
  Agent,
  AgentPipelineModule,
  BearerAuthGuard,
  CurrentUser,
  AgentService,
  type AgentHandler,
  type AgentPipelineModuleExtras,
  type AgentPipelineOptions,
  type AgentRunContext,
} from '@agent-pipeline/nestjs';

/**
 * The module as a consumer's app uses it: `NestFactory.create(AppModule)` and `listen`, nothing
 * else in main — no adapter, no pipes, no filters, no body parser settings — and the contract
 * still holds: auth through the app's own `verify`, error bodies with the contract's codes, the
 * body limit, `socket.namespace`, `http.path`, and the start refused for wrong options.
 */
class GreetInput {
  @IsString() name!: string;
}

@Agent({ name: 'greeter', description: 'Greets someone by name.', input: GreetInput })
class GreeterAgent implements AgentHandler<GreetInput, string> {
  async run({ input, notifier }: AgentRunContext<GreetInput>): Promise<string> {
    notifier.thinking('Composing a greeting');
    notifier.messageDelta(`Hello, ${input.name}!`);
    return `Hello, ${input.name}!`;
  }
}

@Controller('greet')
class GreetController {
  constructor(private readonly agents: AgentService) {}
  @Post() async greet(@Headers('x-user') userId: string, @Body() body: { name: string }) {
    const { runId, threadId } = await this.agents.start(userId, { agent: 'greeter', input: body });
    return { runId, threadId };
  }

  /** The app's own route behind the pipeline's guard, with no filter of the app's. */
  @Get('me')
  @UseGuards(BearerAuthGuard)
  me(@CurrentUser() userId: string) {
    return { userId };
  }

  /** The app's own route calling the pipeline, whose refusals must keep their status and body. */
  @Post('missing')
  async missing(@Headers('x-user') userId: string) {
    return this.agents.getRun(userId, 'no-such-run');
  }
}

const verify = async (token: string) => (token.startsWith('user:') ? { userId: token.slice(5) } : null);

async function startConsumer(
  options: Partial<AgentPipelineOptions> & AgentPipelineModuleExtras = {},
): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [AgentPipelineModule.forRoot({ databaseUrl: 'sqlite::memory:', auth: { verify }, ...options })],
    providers: [GreeterAgent],
    controllers: [GreetController],
  })
  class AppModule {}
  // abortOnError: false only so that a refused start rejects here instead of exiting the test process.
  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

function connect(url: string, token: string, namespace = '/agents', origin?: string): Promise<Socket> {
  const socket = io(`${url}${namespace}`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    ...(origin ? { extraHeaders: { origin } } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

const json = (url: string, init: RequestInit & { token?: string } = {}) =>
  fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
  }).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json().catch(() => undefined) }));

describe('AgentPipelineModule in a plain Nest app', () => {
  describe('with the defaults', () => {
    let app: INestApplication;
    let url: string;
    beforeAll(async () => ({ app, url } = await startConsumer()));
    afterAll(() => app.close());

    it("runs the app's agent over Socket.IO for the user its verify() names, and nobody else sees it", async () => {
      const alice = await connect(url, 'user:alice');
      const bob = await connect(url, 'user:bob');
      const seen: { who: string; type: string; seq: number; data: unknown }[] = [];
      for (const type of ['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']) {
        alice.on(type, (e) => seen.push({ who: 'alice', type, seq: e.seq, data: e.data }));
        bob.on(type, (e) => seen.push({ who: 'bob', type, seq: e.seq, data: e.data }));
      }
      const ack = await alice.emitWithAck('run:start', { agent: 'greeter', input: { name: 'Ada' } });
      expect(ack).toMatchObject({ ok: true, status: 'running' });
      await waitFor(() => seen.some((e) => e.type === 'agent_completed'));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([
        { who: 'alice', type: 'agent_started', seq: 1, data: { input: { name: 'Ada' } } },
        { who: 'alice', type: 'agent_thinking', seq: 2, data: { thought: 'Composing a greeting', step: 1 } },
        { who: 'alice', type: 'agent_message_delta', seq: 3, data: expect.objectContaining({ delta: 'Hello, Ada!' }) },
        { who: 'alice', type: 'agent_completed', seq: 4, data: expect.objectContaining({ result: 'Hello, Ada!' }) },
      ]);
      alice.close();
      bob.close();
    });

    it('refuses a handshake whose token verify() refuses, with connect_error unauthorized', async () => {
      await expect(connect(url, 'nope')).rejects.toThrow('unauthorized');
    });

    it("serves the app's own controller and the pipeline's routes side by side, with the contract's error bodies", async () => {
      const started = await json(`${url}/greet`, { method: 'POST', headers: { 'x-user': 'carol' }, body: JSON.stringify({ name: 'Ada' }) });
      expect(started.status).toBe(201);
      await waitFor(async () => (await json(`${url}/runs/${started.body.runId}`, { token: 'user:carol' })).body?.status === 'completed');
      expect((await json(`${url}/runs/${started.body.runId}`, { token: 'user:dave' })).body).toEqual({
        statusCode: 404,
        code: 'RUN_NOT_FOUND',
        message: expect.any(String),
      });
      expect((await json(`${url}/runs`, { token: 'nope' })).body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      const unknown = await json(`${url}/runs`, { method: 'POST', token: 'user:carol', body: JSON.stringify({ agent: 'greeterr' }) });
      expect(unknown).toMatchObject({
        status: 404,
        body: { statusCode: 404, code: 'UNKNOWN_AGENT', message: expect.stringContaining("Did you mean 'greeter'?") },
      });
      const invalid = await json(`${url}/runs`, {
        method: 'POST',
        token: 'user:carol',
        body: JSON.stringify({ agent: 'greeter', input: { name: 7 } }),
      });
      expect(invalid).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
      const badJson = await json(`${url}/runs`, { method: 'POST', token: 'user:carol', body: '{"agent": ' });
      expect(badJson).toMatchObject({
        status: 400,
        body: { statusCode: 400, code: 'VALIDATION_FAILED', message: 'The request body is not valid JSON.' },
      });
    });

    it("answers the app's own routes with the contract's status and body when the pipeline refuses (its guard, its service)", async () => {
      expect(await json(`${url}/greet/me`, { token: 'user:erin' })).toMatchObject({ status: 200, body: { userId: 'erin' } });
      expect(await json(`${url}/greet/me`, { token: 'nope' })).toMatchObject({
        status: 401,
        body: { statusCode: 401, code: 'UNAUTHORIZED' },
      });
      expect(await json(`${url}/greet/missing`, { method: 'POST', headers: { 'x-user': 'erin' } })).toMatchObject({
        status: 404,
        body: { statusCode: 404, code: 'RUN_NOT_FOUND', message: expect.any(String) },
      });
    });

    it('refuses a start without a user id, and the runs of everyone else are still stored', async () => {
      const orphan = await json(`${url}/greet`, { method: 'POST', body: JSON.stringify({ name: 'Ada' }) });
      expect(orphan).toMatchObject({
        status: 400,
        body: { statusCode: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('id of its user') },
      });
      const later = await json(`${url}/runs?wait=true`, {
        method: 'POST',
        token: 'user:fay',
        body: JSON.stringify({ agent: 'greeter', input: { name: 'Bo' } }),
      });
      expect(later).toMatchObject({ status: 200, body: { status: 'completed', result: 'Hello, Bo!' } });
      expect((await json(`${url}/runs/${later.body.runId}/events`, { token: 'user:fay' })).body.events).toHaveLength(4);
    });

    it("limits its routes' bodies itself: past maxInputBytes (+16 KiB for the rest) 413 PAYLOAD_TOO_LARGE, however large", async () => {
      // A small input with 90 KiB of other fields: Nest's own 100 KiB parser would take it (and the
      // DTO drop the padding), the pipeline's 80 KiB limit does not. 1 MiB passes neither parser,
      // and only the pipeline's answers with the contract's body.
      const padded = JSON.stringify({ agent: 'greeter', input: { name: 'Ada' }, padding: 'x'.repeat(90 * 1024) });
      const huge = JSON.stringify({ agent: 'greeter', input: { name: 'x'.repeat(1024 * 1024) } });
      for (const body of [padded, huge]) {
        const res = await json(`${url}/runs`, { method: 'POST', token: 'user:carol', body });
        expect(res).toMatchObject({ status: 413, body: { statusCode: 413, code: 'PAYLOAD_TOO_LARGE' } });
      }
    });
  });

  it('moves the gateway with socket.namespace and the routes with http.path; a larger maxInputBytes is accepted whole', async () => {
    const { app, url } = await startConsumer({ socket: { namespace: '/chat' }, http: { path: '/api/v1/' }, maxInputBytes: 300 * 1024 });
    try {
      const socket = await connect(url, 'user:alice', '/chat');
      expect(await socket.emitWithAck('agents:list', {})).toMatchObject({
        ok: true,
        agents: [expect.objectContaining({ name: 'greeter' })],
      });
      socket.close();
      await expect(connect(url, 'user:alice', '/agents')).rejects.toThrow();
      const name = 'y'.repeat(200 * 1024);
      const started = await json(`${url}/api/v1/runs?wait=true`, {
        method: 'POST',
        token: 'user:alice',
        body: JSON.stringify({ agent: 'greeter', input: { name } }),
      });
      expect(started).toMatchObject({ status: 200, body: { status: 'completed', result: `Hello, ${name}!` } });
      expect((await json(`${url}/api/v1/agents`, { token: 'user:alice' })).status).toBe(200);
      expect((await json(`${url}/api/v1/auth/config`)).body).toEqual({ devAuth: false });
      expect((await json(`${url}/runs`, { token: 'user:alice' })).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("opens sockets from its own origin, from corsOrigins and from non-browser clients only (a browser's WebSocket goes anywhere)", async () => {
    const { app, url } = await startConsumer({ corsOrigins: ['https://app.example'] });
    try {
      (await connect(url, 'user:alice')).close();
      (await connect(url, 'user:alice', '/agents', url)).close();
      (await connect(url, 'user:alice', '/agents', 'https://app.example')).close();
      await expect(connect(url, 'user:alice', '/agents', 'https://evil.example')).rejects.toThrow();
      await expect(connect(url, 'user:alice', '/agents', 'null')).rejects.toThrow();
    } finally {
      await app.close();
    }
  });

  it("holds its bounds with the app's own tokens: the per-user socket cap, and a socket closed when its token expires", async () => {
    const expiring = async (token: string) =>
      token === 'soon' ? { userId: 'gus', expiresAt: Date.now() + 300 } : token.startsWith('user:') ? { userId: token.slice(5) } : null;
    const { app, url } = await startConsumer({ auth: { verify: expiring }, maxSocketsPerUser: 2 });
    try {
      const first = await connect(url, 'user:hal');
      const second = await connect(url, 'user:hal');
      await expect(connect(url, 'user:hal')).rejects.toThrow('too_many_connections');
      first.close();
      second.close();
      const short = await connect(url, 'soon');
      const expired = new Promise<number>((resolve) => short.on('session_expired', () => resolve(Date.now())));
      const closed = new Promise<string>((resolve) => short.on('disconnect', (reason) => resolve(reason)));
      await expired;
      expect(await closed).toBe('io server disconnect');
    } finally {
      await app.close();
    }
  });

  it('serves neither with socket: false and http: false, and AgentService still runs agents', async () => {
    const { app, url } = await startConsumer({ socket: false, http: false });
    try {
      await expect(connect(url, 'user:alice')).rejects.toThrow();
      expect((await json(`${url}/runs`, { token: 'user:alice' })).status).toBe(404);
      const started = await json(`${url}/greet`, { method: 'POST', headers: { 'x-user': 'alice' }, body: JSON.stringify({ name: 'Ada' }) });
      const ending = await app.get(AgentService).getRun('alice', started.body.runId);
      expect(ending.runId).toBe(started.body.runId);
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ auth: undefined }, "the 'auth' option is required"],
    [
      { auth: { jwtSecret: 'a-secret-long-enough', development: true } },
      "'auth' takes one way of verifying tokens, not auth.jwtSecret and auth.development",
    ],
    [{ auth: { jwksUrl: 'ftp://idp.example.com/jwks' } }, "'auth.jwksUrl' must be an http:// or https:// URL"],
    [{ auth: { publicKey: 'not a key' } }, "'auth.publicKey' is not a PEM public key"],
    [
      { auth: { jwtSecret: 'a-secret-long-enough', algorithms: ['RS256'] } },
      "'auth.algorithms' with a secret may only be HS256, not RS256",
    ],
    [{ runTimeoutMs: 0 }, "'runTimeoutMs' must be an integer ≥ 1 (got 0)"],
    [{ threadMultitask: 'later' }, "'threadMultitask' must be one of reject, enqueue, interrupt"],
  ] as [Partial<AgentPipelineOptions>, string][])('refuses to start with %j, naming the option', async (options, message) => {
    await expect(startConsumer(options)).rejects.toThrow(message);
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
