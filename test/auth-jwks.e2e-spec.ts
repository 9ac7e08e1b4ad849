import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import { exportSPKI } from 'jose';
import { JWKS_TIMINGS } from '../packages/nestjs/src/auth/jwks.key-set';
import { TokenService } from '@agent-pipeline/nestjs';
import { makeProviderKey, signWith, JwksServer, type ProviderKey } from './support/jwks-server';
import { startServerProcess, stopAllServerProcesses, tempDatabase } from './support/server-process';
import { command, startTestApp, type TestApp, tryConnect, waitFor } from './support/test-app';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'agent-pipeline';
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT assembled by hand (for `alg: none` and HMAC tokens jose would not make). */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, hmacSecret?: string | Buffer): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  if (hmacSecret === undefined) return `${unsigned}.`;
  return `${unsigned}.${createHmac('sha256', hmacSecret).update(unsigned).digest('base64url')}`;
}

/** Both ways in: the socket handshake and an authenticated HTTP route. */
const transports = {
  async socket(url: string, token: string): Promise<'accepted' | 'refused'> {
    const outcome = await tryConnect(url, { token });
    outcome.socket.disconnect();
    if (outcome.connected) return 'accepted';
    // Whatever the reason, the client learns nothing but this.
    expect(outcome.message).toBe('unauthorized');
    return 'refused';
  },
  async http(url: string, token: string): Promise<'accepted' | 'refused'> {
    const res = await fetch(`${url}/agents`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status === 200) return 'accepted';
    expect(res.status).toBe(401);
    expect(body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    return 'refused';
  },
};
const bothTransports = Object.keys(transports) as Array<keyof typeof transports>;

async function health(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: await res.json() };
}

describe('tokens from an identity provider (JWT_JWKS_URL)', () => {
  const jwks = new JwksServer();
  let t: TestApp;
  let rsa: ProviderKey;
  let ec: ProviderKey;
  let ed: ProviderKey;
  let stranger: ProviderKey;
  let rsaPublicPem: string;
  let rsaPublicDer: Buffer;

  beforeAll(async () => {
    [rsa, ec, ed, stranger] = await Promise.all([
      makeProviderKey('rsa-1', 'RS256'),
      makeProviderKey('ec-1', 'ES256'),
      makeProviderKey('ed-1', 'EdDSA'),
      // Same kid as the real RSA key, but not the provider's key.
      makeProviderKey('rsa-1', 'RS256'),
    ]);
    rsaPublicPem = await exportSPKI(rsa.publicKey);
    rsaPublicDer = (createPublicKey(rsaPublicPem) as KeyObject).export({ type: 'spki', format: 'der' });
    jwks.keys = [rsa, ec, ed];
    await jwks.start();
    t = await startTestApp({ JWT_SECRET: '', JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: `${AUDIENCE}, other-api` });
    await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load');
  });
  afterAll(async () => {
    await t?.close();
    await jwks.stop();
  });

  const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'idp-alice', iss: ISSUER, aud: AUDIENCE, ...extra });

  const accepted: Array<[string, () => Promise<string>]> = [
    ['an RS256 token of a key in the set', () => signWith(rsa, claims())],
    ['an ES256 token of a key in the set', () => signWith(ec, claims())],
    ['an EdDSA token of a key in the set', () => signWith(ed, claims())],
    [
      'a token whose aud is a list holding the second configured audience',
      () => signWith(rsa, claims({ aud: ['someone-else', 'other-api'] })),
    ],
    ['a token that expired 2 s ago (within the 5 s tolerance)', () => signWith(rsa, claims({ exp: now() - 2 }))],
    ['a token valid from 2 s from now (within the tolerance)', () => signWith(rsa, claims({ nbf: now() + 2 }))],
    ['a token without exp', () => signWith(rsa, claims(), { expiresIn: null })],
    ['a token whose sub is 128 characters', () => signWith(ec, claims({ sub: 's'.repeat(128) }))],
  ];

  const refused: Array<[string, () => Promise<string> | string]> = [
    ['an unsigned alg:none token', () => craft({ alg: 'none', typ: 'JWT', kid: 'rsa-1' }, claims({ exp: now() + 3600 }))],
    [
      'an HS256 token signed with the PEM public key as secret (algorithm confusion)',
      () => craft({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, claims({ exp: now() + 3600 }), rsaPublicPem),
    ],
    [
      'an HS256 token signed with the DER public key as secret (algorithm confusion)',
      () => craft({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, claims({ exp: now() + 3600 }), rsaPublicDer),
    ],
    ['an RS256 token signed by another key under a known kid', () => signWith(stranger, claims())],
    ['an RS256 token without kid signed by another key', () => signWith(stranger, claims(), { kid: null })],
    [
      'an RS256 token whose payload was swapped after signing',
      async () => {
        const [header, , signature] = (await signWith(rsa, claims())).split('.');
        return `${header}.${b64url(claims({ sub: 'mallory', exp: now() + 3600 }))}.${signature}`;
      },
    ],
    ['an RS384 token (not in JWT_ALGORITHMS)', () => signWith({ ...rsa, alg: 'RS384' }, claims(), { kid: null })],
    ['a token that expired 10 s ago (beyond the tolerance)', () => signWith(rsa, claims({ exp: now() - 10 }))],
    ['a token not valid before 60 s from now', () => signWith(rsa, claims({ nbf: now() + 60 }))],
    ['a token of another issuer', () => signWith(rsa, claims({ iss: 'https://evil.test/' }))],
    ['a token without iss', () => signWith(rsa, claims({ iss: undefined }))],
    ['a token for another audience', () => signWith(rsa, claims({ aud: 'another-api' }))],
    ['a token without aud', () => signWith(rsa, claims({ aud: undefined }))],
    ['a token without sub', () => signWith(rsa, claims({ sub: undefined }))],
    ['a token whose sub is empty', () => signWith(rsa, claims({ sub: '' }))],
    ['a token whose sub is 129 characters', () => signWith(rsa, claims({ sub: 's'.repeat(129) }))],
    ['a token whose sub is a number', () => signWith(rsa, claims({ sub: 42 }))],
    [
      'an HS256 token signed with the test secret',
      () => craft({ alg: 'HS256', typ: 'JWT' }, claims({ exp: now() + 3600 }), 'test-secret-0123456789abcdef'),
    ],
  ];

  describe.each(bothTransports)('over %s', (transport) => {
    it.each(accepted)('accepts %s', async (_name, token) => {
      expect(await transports[transport](t.url, await token())).toBe('accepted');
    });

    it.each(refused)('refuses %s', async (_name, token) => {
      expect(await transports[transport](t.url, await token())).toBe('refused');
    });
  });

  it('makes the user claim the user: the socket runs as idp-alice and HTTP sees the same runs', async () => {
    const token = await signWith(ec, claims({ sub: 'idp-carol' }));
    const outcome = await tryConnect(t.url, { token });
    try {
      expect(outcome.connected).toBe(true);
      const ack = await command(outcome.socket, 'run:start', { agent: 'echo', input: { text: 'hi' } });
      expect(ack).toMatchObject({ ok: true });
      const mine = await fetch(`${t.url}/runs/${ack.runId}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(mine.status).toBe(200);
      const other = await fetch(`${t.url}/runs/${ack.runId}`, {
        headers: { Authorization: `Bearer ${await signWith(ec, claims({ sub: 'idp-dave' }))}` },
      });
      expect(other.status).toBe(404);
    } finally {
      outcome.socket.disconnect();
    }
  });

  it('reports the loaded key set on /health and says development auth is off', async () => {
    const { status, body } = await health(t.url);
    expect(status).toBe(200);
    expect(body.info.jwks).toMatchObject({ status: 'up', url: jwks.url, keys: 3 });
    expect(await (await fetch(`${t.url}/auth/config`)).json()).toEqual({ devAuth: false });
    const devToken = await fetch(`${t.url}/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'alice' }),
    });
    expect(devToken.status).toBe(404);
  });
});

describe('JWKS key rotation and outages', () => {
  const saved = { ...JWKS_TIMINGS };
  let rsa1: ProviderKey;
  let rsa2: ProviderKey;
  let ec2: ProviderKey;

  beforeAll(async () => {
    [rsa1, rsa2, ec2] = await Promise.all([
      makeProviderKey('rsa-1', 'RS256'),
      makeProviderKey('rsa-2', 'RS256'),
      makeProviderKey('ec-2', 'ES256'),
    ]);
  });
  afterEach(() => Object.assign(JWKS_TIMINGS, saved));

  async function start(jwks: JwksServer, env: Record<string, string> = {}): Promise<TestApp> {
    return startTestApp({ JWT_SECRET: '', JWT_JWKS_URL: jwks.url, ...env });
  }

  it('uses the default timings of the trusted verifiers: 30 s cooldown, 5 s fetch timeout', () => {
    expect(saved).toMatchObject({ cooldownMs: 30_000, timeoutMs: 5_000 });
  });

  it('accepts a token with a new kid once the provider publishes it, without a restart, and drops the retired key', async () => {
    JWKS_TIMINGS.cooldownMs = 300;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    await jwks.start();
    const t = await start(jwks);
    try {
      await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load');
      const old = await signWith(rsa1, { sub: 'rot-alice' });
      const next = await signWith(rsa2, { sub: 'rot-alice' });
      for (const transport of bothTransports) {
        expect(await transports[transport](t.url, old)).toBe('accepted');
        expect(await transports[transport](t.url, next)).toBe('refused');
      }

      // The provider rotates: rsa-2 in, rsa-1 out.
      jwks.keys = [rsa2];
      await new Promise((r) => setTimeout(r, 400)); // past the cooldown
      const fetchesBefore = jwks.fetches;
      expect(await transports.socket(t.url, next)).toBe('accepted');
      expect(jwks.fetches).toBe(fetchesBefore + 1); // the unknown kid made it fetch the set again
      expect(await transports.http(t.url, next)).toBe('accepted');
      expect(await transports.http(t.url, old)).toBe('refused');
      expect(await transports.socket(t.url, old)).toBe('refused');
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('fetches at most once per cooldown however many unknown kids arrive', async () => {
    JWKS_TIMINGS.cooldownMs = 3_000;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    await jwks.start();
    const t = await start(jwks);
    try {
      await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load');
      const loadedAt = Date.now();
      expect(jwks.fetches).toBe(1);
      for (let i = 0; i < 6; i++) {
        const unknown = await signWith(rsa2, { sub: 'flood' }, { kid: `unknown-${i}` });
        expect(await transports[i % 2 ? 'http' : 'socket'](t.url, unknown)).toBe('refused');
      }
      // Six unknown kids, sequentially: within the cooldown of the first fetch none may fetch again.
      if (Date.now() - loadedAt < 3_000) expect(jwks.fetches).toBe(1);
      else expect(jwks.fetches).toBeLessThanOrEqual(2);

      // After the cooldown, a new kid is looked up again (and found).
      jwks.keys = [rsa1, ec2];
      await new Promise((r) => setTimeout(r, Math.max(0, 3_100 - (Date.now() - loadedAt))));
      const before = jwks.fetches;
      expect(await transports.http(t.url, await signWith(ec2, { sub: 'flood' }))).toBe('accepted');
      expect(jwks.fetches).toBe(before + 1);
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('keeps accepting tokens of known keys while the JWKS URL is down, and /health stays up saying why', async () => {
    JWKS_TIMINGS.cooldownMs = 200;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    await jwks.start();
    const t = await start(jwks);
    try {
      await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load');
      await jwks.stop();
      await new Promise((r) => setTimeout(r, 300)); // past the cooldown: an unknown kid will try to fetch

      // An unknown kid makes it try the URL, which fails: refused, nothing else breaks.
      const unknown = await signWith(rsa2, { sub: 'down-alice' });
      expect(await transports.socket(t.url, unknown)).toBe('refused');
      expect(await transports.http(t.url, unknown)).toBe('refused');

      const known = await signWith(rsa1, { sub: 'down-alice' });
      for (const transport of bothTransports) expect(await transports[transport](t.url, known)).toBe('accepted');

      const { status, body } = await health(t.url);
      expect(status).toBe(200);
      expect(body.info.jwks).toMatchObject({ status: 'up', keys: 1, lastError: expect.stringMatching(/ECONNREFUSED/) });
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('refreshes the set in the background: a key the provider removed stops working with no unknown kid to trigger it', async () => {
    JWKS_TIMINGS.refreshMs = 200;
    const jwks = new JwksServer();
    jwks.keys = [rsa1, rsa2];
    await jwks.start();
    const t = await start(jwks);
    try {
      await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load');
      const retired = await signWith(rsa1, { sub: 'bg-alice' });
      expect(await transports.http(t.url, retired)).toBe('accepted');
      jwks.keys = [rsa2];
      const fetches = jwks.fetches;
      await waitFor(() => jwks.fetches >= fetches + 2, 'two background refreshes');
      expect(await transports.http(t.url, retired)).toBe('refused');
      expect(await transports.socket(t.url, await signWith(rsa2, { sub: 'bg-alice' }))).toBe('accepted');
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('keeps the known keys through failed background refreshes', async () => {
    JWKS_TIMINGS.refreshMs = 100;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    await jwks.start();
    const t = await start(jwks);
    try {
      const keySet = t.app.get(TokenService).keySet!;
      await waitFor(() => keySet.loaded, 'the key set to load');
      await jwks.stop();
      await waitFor(() => keySet.status().lastError !== undefined, 'a background refresh to fail');
      await new Promise((r) => setTimeout(r, 350)); // a few more failed refreshes
      const known = await signWith(rsa1, { sub: 'bg-bob' });
      for (const transport of bothTransports) expect(await transports[transport](t.url, known)).toBe('accepted');
      expect(keySet.status()).toMatchObject({ loaded: true, keys: 1 });
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('refuses every token when the JWKS URL is down at start, without crashing; /health is 503 until the keys load', async () => {
    JWKS_TIMINGS.retryMs = 200;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    await jwks.start();
    await jwks.stop(); // the port is known and closed
    const t = await start(jwks);
    try {
      await waitFor(() => t.app.get(TokenService).keySet!.status().lastError !== undefined, 'the first fetch to fail');
      const token = await signWith(rsa1, { sub: 'cold-alice' });
      for (const transport of bothTransports) expect(await transports[transport](t.url, token)).toBe('refused');

      const down = await health(t.url);
      expect(down.status).toBe(503);
      expect(down.body.error.jwks).toMatchObject({ status: 'down', keys: 0, message: expect.stringMatching(/not loaded/) });
      expect(down.body.details.store).toMatchObject({ status: 'up' });

      // The provider comes back: the background retry loads the keys, no restart needed.
      await jwks.start();
      await waitFor(() => t.app.get(TokenService).keySet!.loaded, 'the key set to load after the outage', 5_000);
      const up = await health(t.url);
      expect(up.status).toBe(200);
      expect(up.body.info.jwks).toMatchObject({ status: 'up', keys: 1 });
      expect(up.body.info.jwks.lastError).toBeUndefined();
      for (const transport of bothTransports) expect(await transports[transport](t.url, token)).toBe('accepted');
    } finally {
      await t.close();
      await jwks.stop();
    }
  });

  it('gives up on a JWKS URL that does not answer after the fetch timeout and refuses the token', async () => {
    JWKS_TIMINGS.timeoutMs = 300;
    JWKS_TIMINGS.retryMs = 60_000;
    const jwks = new JwksServer();
    jwks.keys = [rsa1];
    jwks.hang = true;
    await jwks.start();
    const t = await start(jwks);
    try {
      const started = Date.now();
      expect(await transports.http(t.url, await signWith(rsa1, { sub: 'slow-alice' }))).toBe('refused');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(t.app.get(TokenService).keySet!.status()).toMatchObject({
        loaded: false,
        lastError: expect.stringMatching(/timed out|Timeout/i),
      });
      expect((await health(t.url)).status).toBe(503);
    } finally {
      await t.close();
      await jwks.stop();
    }
  });
});

describe('tokens verified with a public key (JWT_PUBLIC_KEY)', () => {
  let t: TestApp;
  let ec: ProviderKey;
  let rsa: ProviderKey;
  let pem: string;

  beforeAll(async () => {
    [ec, rsa] = await Promise.all([makeProviderKey('any', 'ES256'), makeProviderKey('any', 'RS256')]);
    pem = await exportSPKI(ec.publicKey);
    // As an environment file often has it: one line with literal "\n".
    t = await startTestApp({
      JWT_SECRET: '',
      JWT_PUBLIC_KEY: pem.trim().replace(/\n/g, '\\n'),
      JWT_AUDIENCE: AUDIENCE,
      JWT_USER_CLAIM: 'email',
    });
  });
  afterAll(() => t?.close());

  it.each(bothTransports)(
    'over %s: accepts a token of that key with the user in the configured claim; refuses the rest',
    async (transport) => {
      const check = transports[transport];
      expect(await check(t.url, await signWith(ec, { email: 'pk@example.com', aud: AUDIENCE }, { kid: null }))).toBe('accepted');
      // The user claim is email here: a token with only sub has no user.
      expect(await check(t.url, await signWith(ec, { sub: 'pk-alice', aud: AUDIENCE }, { kid: null }))).toBe('refused');
      expect(await check(t.url, await signWith(ec, { email: 'pk@example.com', aud: 'other' }, { kid: null }))).toBe('refused');
      expect(await check(t.url, await signWith(rsa, { email: 'pk@example.com', aud: AUDIENCE }, { kid: null }))).toBe('refused');
      expect(await check(t.url, craft({ alg: 'HS256', typ: 'JWT' }, { email: 'pk@example.com', aud: AUDIENCE }, pem))).toBe('refused');
      expect(await check(t.url, craft({ alg: 'none', typ: 'JWT' }, { email: 'pk@example.com', aud: AUDIENCE }))).toBe('refused');
    },
  );

  it('has no JWKS health entry and no development auth', async () => {
    const { status, body } = await health(t.url);
    expect(status).toBe(200);
    expect(body.details).not.toHaveProperty('jwks');
    expect(await (await fetch(`${t.url}/auth/config`)).json()).toEqual({ devAuth: false });
  });
});

describe('the server process (node dist/main.js) with JWT_* settings', () => {
  const db = tempDatabase();
  afterAll(async () => {
    await stopAllServerProcesses();
    db.remove();
  });

  it('refuses to start with a secret and a JWKS URL, naming both settings', async () => {
    await expect(
      startServerProcess({ JWT_SECRET: 'a-secret-of-at-least-16-chars', JWT_JWKS_URL: 'https://idp.example.com/jwks.json' }),
    ).rejects.toThrow(/JWT_SECRET cannot be combined with JWT_JWKS_URL/);
  });

  it('refuses to start with a symmetric algorithm and a JWKS URL', async () => {
    await expect(
      startServerProcess({ JWT_SECRET: '', JWT_JWKS_URL: 'https://idp.example.com/jwks.json', JWT_ALGORITHMS: 'HS256' }),
    ).rejects.toThrow(/JWT_ALGORITHMS cannot contain HS256 with JWT_JWKS_URL/);
  });

  it('starts with the JWKS URL down, says which mode is on, refuses tokens and reports 503 until the keys load', async () => {
    const jwks = new JwksServer();
    jwks.keys = [await makeProviderKey('proc-1', 'RS256')];
    await jwks.start();
    await jwks.stop();
    const server = await startServerProcess({
      JWT_SECRET: '',
      JWT_JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      DATABASE_URL: db.url,
    });
    try {
      expect(server.output()).toContain(`Token verification: JWKS URL ${jwks.url}`);
      expect(server.output()).toContain(`issuer ${ISSUER}`);
      expect(server.output()).toContain(`audience ${AUDIENCE}`);
      const token = await signWith(jwks.keys[0], { sub: 'proc-alice', iss: ISSUER, aud: AUDIENCE });
      for (const transport of bothTransports) expect(await transports[transport](server.url, token)).toBe('refused');
      const down = await health(server.url);
      expect(down.status).toBe(503);
      expect(down.body.error.jwks).toMatchObject({ status: 'down' });

      // The default retry (every 5 s) picks the provider up once it answers.
      await jwks.start();
      const deadline = Date.now() + 12_000;
      while ((await health(server.url)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect((await health(server.url)).status).toBe(200);
      for (const transport of bothTransports) expect(await transports[transport](server.url, token)).toBe('accepted');
      const exitedEarly = await Promise.race([server.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]);
      expect(exitedEarly).toBe(false);
    } finally {
      await server.stop();
      await jwks.stop();
    }
  }, 30_000);
});
