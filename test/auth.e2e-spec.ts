import { createHmac, generateKeyPairSync } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import {
  command,
  ofRun,
  recordEvents,
  roundTrip,
  startTestApp,
  TEST_JWT_SECRET,
  TestApp,
  tryConnect,
  waitForTerminal,
} from './support/test-app';
import { startServerProcess } from './support/server-process';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A JWT built by hand, so claims jsonwebtoken would refuse to sign can be sent too. */
function craftToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret?: string): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  if (secret === undefined) return `${unsigned}.`;
  const algorithm = header.alg === 'HS512' ? 'sha512' : header.alg === 'HS384' ? 'sha384' : 'sha256';
  return `${unsigned}.${createHmac(algorithm, secret).update(unsigned).digest('base64url')}`;
}

const hs256 = (payload: Record<string, unknown>, secret = TEST_JWT_SECRET) => craftToken({ alg: 'HS256', typ: 'JWT' }, payload, secret);

describe('socket handshake authentication', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const { privateKey: rsaKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  // Each case: the `auth` payload of the handshake (undefined = no auth at all).
  const refused: Array<[string, () => Record<string, unknown> | undefined]> = [
    ['no auth at all', () => undefined],
    ['auth without a token', () => ({})],
    ['an empty token', () => ({ token: '' })],
    ['a number as token', () => ({ token: 12345 })],
    ['an object as token', () => ({ token: { sub: 'alice' } })],
    ['an array as token', () => ({ token: [jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET)] })],
    ['a malformed token (not a JWT)', () => ({ token: 'not-a-jwt' })],
    ['a malformed token (three garbage parts)', () => ({ token: 'a.b.c' })],
    ['a token with a bearer prefix', () => ({ token: `Bearer ${jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET)}` })],
    [
      'a token signed with another secret',
      () => ({ token: jwt.sign({ sub: 'alice' }, 'another-secret-0123456789abcdef', { algorithm: 'HS256' }) }),
    ],
    ['a token whose signature was tampered with', () => ({ token: hs256({ sub: 'alice' }).slice(0, -2) + 'AA' })],
    [
      'a token whose payload was swapped after signing',
      () => {
        const [header, , signature] = hs256({ sub: 'alice' }).split('.');
        return { token: `${header}.${b64url({ sub: 'mallory' })}.${signature}` };
      },
    ],
    ['an unsigned alg:none token', () => ({ token: craftToken({ alg: 'none', typ: 'JWT' }, { sub: 'alice', exp: inAnHour() }) })],
    [
      'an alg:none token with a signature',
      () => ({
        token: craftToken({ alg: 'none', typ: 'JWT' }, { sub: 'alice' }).concat(
          createHmac('sha256', TEST_JWT_SECRET).update('x').digest('base64url'),
        ),
      }),
    ],
    ['an HS512 token signed with the right secret', () => ({ token: jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS512' }) })],
    [
      'an HS384 token signed with the right secret',
      () => ({ token: craftToken({ alg: 'HS384', typ: 'JWT' }, { sub: 'alice' }, TEST_JWT_SECRET) }),
    ],
    ['an RS256 token', () => ({ token: jwt.sign({ sub: 'alice' }, rsaKey, { algorithm: 'RS256' }) })],
    ['an expired token', () => ({ token: hs256({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 }) })],
    ['a token without sub', () => ({ token: hs256({ name: 'alice', exp: inAnHour() }) })],
    ['a token whose sub is 129 characters', () => ({ token: hs256({ sub: 'a'.repeat(129), exp: inAnHour() }) })],
    ['a token whose sub is an empty string', () => ({ token: hs256({ sub: '', exp: inAnHour() }) })],
    ['a token whose sub is a number', () => ({ token: hs256({ sub: 42, exp: inAnHour() }) })],
    [
      'a token whose payload is not an object',
      () => ({ token: craftToken({ alg: 'HS256', typ: 'JWT' }, 'alice' as never, TEST_JWT_SECRET) }),
    ],
  ];

  it.each(refused)('refuses %s with connect_error "unauthorized"', async (_name, auth) => {
    const outcome = await tryConnect(t.url, auth());
    outcome.socket.disconnect();
    expect(outcome).toMatchObject({ connected: false, message: 'unauthorized' });
  });

  it.each([
    ['a token with exp', () => jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 })],
    ['a token without exp (exp is enforced only when present)', () => hs256({ sub: 'alice' })],
    ['a token whose sub is 1 character', () => hs256({ sub: 'a', exp: inAnHour() })],
    ['a token whose sub is 128 characters', () => hs256({ sub: 'a'.repeat(128), exp: inAnHour() })],
  ])('accepts %s', async (_name, token) => {
    const outcome = await tryConnect(t.url, { token: token() });
    outcome.socket.disconnect();
    expect(outcome).toMatchObject({ connected: true });
  });

  it('a valid token makes the socket its sub: it receives that user’s runs and none of another user’s', async () => {
    const alice = (await tryConnect(t.url, { token: hs256({ sub: 'auth-alice' }) })).socket;
    const bob = (await tryConnect(t.url, { token: hs256({ sub: 'auth-bob' }) })).socket;
    try {
      const aliceEvents = recordEvents(alice);
      const bobEvents = recordEvents(bob);
      const ack = await command(alice, 'run:start', { agent: 'echo', input: { text: 'for alice' } });
      expect(ack).toMatchObject({ ok: true });
      await waitForTerminal(aliceEvents, ack.runId);
      await roundTrip(bob);
      expect(ofRun(aliceEvents, ack.runId).map((e) => e.type)).toEqual([
        'agent_started',
        'agent_thinking',
        'agent_message_delta',
        'agent_completed',
      ]);
      expect(bobEvents).toEqual([]);
    } finally {
      alice.disconnect();
      bob.disconnect();
    }
  });
});

describe('POST /auth/dev-token', () => {
  const post = (url: string, body: string, contentType = 'application/json') =>
    fetch(`${url}/auth/dev-token`, { method: 'POST', headers: { 'content-type': contentType }, body });

  describe('with JWT_SECRET set', () => {
    let t: TestApp;
    beforeAll(async () => (t = await startTestApp()));
    afterAll(() => t.close());

    it('is 404 and hands out no token', async () => {
      const res = await post(t.url, JSON.stringify({ userId: 'alice' }));
      expect(res.status).toBe(404);
      const body = await res.json();
      expect(body).toMatchObject({ statusCode: 404 });
      expect(body).not.toHaveProperty('token');
    });
  });

  describe('in development auth (JWT_SECRET empty)', () => {
    let t: TestApp;
    beforeAll(async () => (t = await startTestApp({ JWT_SECRET: '' })));
    afterAll(() => t.close());

    it('returns a token that connects a socket as that user', async () => {
      const res = await post(t.url, JSON.stringify({ userId: 'dev-carol' }));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { token: string };
      expect(Object.keys(body)).toEqual(['token']);
      expect(jwt.decode(body.token, { complete: true })).toMatchObject({ header: { alg: 'HS256' }, payload: { sub: 'dev-carol' } });

      const otherRes = await post(t.url, JSON.stringify({ userId: 'dev-dave' }));
      const other = (await otherRes.json()) as { token: string };

      const carol = await tryConnect(t.url, { token: body.token });
      const dave = await tryConnect(t.url, { token: other.token });
      try {
        expect(carol.connected).toBe(true);
        expect(dave.connected).toBe(true);
        const carolEvents = recordEvents(carol.socket);
        const daveEvents = recordEvents(dave.socket);
        const ack = await command(carol.socket, 'run:start', { agent: 'echo', input: { text: 'hello carol' } });
        expect(ack).toMatchObject({ ok: true });
        const terminal = await waitForTerminal(carolEvents, ack.runId);
        expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'hello carol' } });
        await roundTrip(dave.socket);
        expect(daveEvents).toEqual([]);
      } finally {
        carol.socket.disconnect();
        dave.socket.disconnect();
      }
    });

    it('accepts a userId of 128 characters', async () => {
      const res = await post(t.url, JSON.stringify({ userId: 'u'.repeat(128) }));
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      const outcome = await tryConnect(t.url, { token });
      outcome.socket.disconnect();
      expect(outcome.connected).toBe(true);
    });

    it('does not accept tokens signed with any fixed secret (the dev secret is random)', async () => {
      const outcome = await tryConnect(t.url, { token: jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS256' }) });
      outcome.socket.disconnect();
      expect(outcome).toMatchObject({ connected: false, message: 'unauthorized' });
    });

    it.each([
      ['a missing userId', JSON.stringify({}), /userId/],
      ['a userId of 129 characters', JSON.stringify({ userId: 'u'.repeat(129) }), /userId/],
      ['an empty userId', JSON.stringify({ userId: '' }), /userId/],
      ['a numeric userId', JSON.stringify({ userId: 42 }), /userId/],
      ['a body that is not JSON', '{"userId": "alice"', /JSON/i],
      ['a JSON array', JSON.stringify([{ userId: 'alice' }]), /./],
    ])('answers %s with 400 VALIDATION_FAILED', async (_name, body, messagePattern) => {
      const res = await post(t.url, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as Record<string, unknown>;
      expect(json).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.any(String) });
      expect(json.message).toMatch(messagePattern);
      expect(json).not.toHaveProperty('token');
    });

    it('answers a body that is not JSON at all (text/plain) with 400 VALIDATION_FAILED', async () => {
      const res = await post(t.url, 'userId=alice', 'text/plain');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.any(String) });
    });
  });
});

describe('the listen address under development auth', () => {
  const boundAddress = (t: TestApp) => (t.app.getHttpServer().address() as { address: string }).address;

  it('binds to loopback when HOST is not set, and says so', async () => {
    const server = await startServerProcess({ JWT_SECRET: '', HOST: '' });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.output()).toContain('Development auth: listening on 127.0.0.1 only');
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['development auth, HOST unset', '127.0.0.1', { JWT_SECRET: '', HOST: '' }],
    ['development auth, HOST=0.0.0.0', '0.0.0.0', { JWT_SECRET: '', HOST: '0.0.0.0' }],
    ['a JWT secret, HOST unset', '0.0.0.0', { HOST: '' }],
  ])('%s → the server listens on %s', async (_name, expected: string, env: Record<string, string>) => {
    const t = await startTestApp(env);
    try {
      expect(boundAddress(t)).toBe(expected);
    } finally {
      await t.close();
    }
  });
});
