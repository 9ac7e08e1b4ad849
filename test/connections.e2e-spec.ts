import * as jwt from 'jsonwebtoken';
import { io, type Socket } from 'socket.io-client';
import { AgentPipelineClient, type ConnectionStatusChange } from '@agent-pipeline/client';
import { metricValue } from './support/metrics';
import { describeCluster, startTwoNodes, type TwoNodes } from './support/cluster';
import type { ServerProcess } from './support/server-process';
import { uniqueSuffix } from './support/shared-services';
import { startTestApp, TEST_JWT_SECRET, tryConnect, waitFor, type HandshakeOutcome, type TestApp } from './support/test-app';

/** A token of `userId` that expires `seconds` from now. */
function expiringToken(userId: string, seconds: number): string {
  return jwt.sign({ sub: userId, exp: Math.floor(Date.now() / 1000) + seconds }, TEST_JWT_SECRET, { algorithm: 'HS256' });
}

function refusal(outcome: HandshakeOutcome): string | undefined {
  return outcome.connected ? undefined : outcome.message;
}

describe('MAX_SOCKETS_PER_USER on one node', () => {
  let t: TestApp;
  const opened: Socket[] = [];
  beforeAll(async () => (t = await startTestApp({ MAX_SOCKETS_PER_USER: '3' })));
  afterAll(async () => {
    for (const s of opened) s.disconnect();
    await t?.close();
  });

  async function open(userId: string): Promise<HandshakeOutcome> {
    const outcome = await tryConnect(t.url, { token: t.token(userId) });
    opened.push(outcome.socket);
    return outcome;
  }

  it('refuses the user’s 4th socket with too_many_connections, not another user’s, and frees the slot when one closes', async () => {
    const refusedBefore = await metricValue(t.url, 'agent_pipeline_socket_refusals_total', { reason: 'too_many_connections' });
    const three = await Promise.all([open('cap-alice'), open('cap-alice'), open('cap-alice')]);
    expect(three.map((o) => o.connected)).toEqual([true, true, true]);
    expect(refusal(await open('cap-alice'))).toBe('too_many_connections');
    expect((await open('cap-bob')).connected).toBe(true);
    expect(await metricValue(t.url, 'agent_pipeline_socket_refusals_total', { reason: 'too_many_connections' })).toBe(refusedBefore + 1);

    three[0].socket.disconnect();
    // The server learns of the close a moment later: retry until the slot is free.
    let again: HandshakeOutcome | undefined;
    for (let i = 0; i < 50 && !again?.connected; i++) {
      if (again) await new Promise((r) => setTimeout(r, 50));
      again = await open('cap-alice');
    }
    expect(again?.connected).toBe(true);
    expect(refusal(await open('cap-alice'))).toBe('too_many_connections');
  });

  it('refuses racing handshakes past the cap: exactly 3 of 10 get in', async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => open('cap-racer')));
    expect(outcomes.filter((o) => o.connected)).toHaveLength(3);
    expect(outcomes.filter((o) => !o.connected).map(refusal)).toEqual(Array(7).fill('too_many_connections'));
  });

  it('the typed client reports TOO_MANY_CONNECTIONS on its first connect', async () => {
    await Promise.all([open('cap-carol'), open('cap-carol'), open('cap-carol')]);
    await expect(AgentPipelineClient.connect({ url: t.url, token: t.token('cap-carol'), transports: ['websocket'] })).rejects.toMatchObject(
      {
        code: 'TOO_MANY_CONNECTIONS',
      },
    );
  });
});

describe('token expiry on a connected socket', () => {
  let t: TestApp;
  // No leeway: the tests below time expiry to the second.
  beforeAll(async () => (t = await startTestApp({ JWT_CLOCK_TOLERANCE_S: '0' })));
  afterAll(async () => t?.close());

  it('grants a socket the same clock tolerance as the handshake: cut at exp + JWT_CLOCK_TOLERANCE_S', async () => {
    const lenient = await startTestApp({ JWT_CLOCK_TOLERANCE_S: '2' });
    const token = expiringToken('lenient-frank', 1);
    const exp = (jwt.decode(token) as { exp: number }).exp * 1000;
    const socket = io(`${lenient.url}/agents`, { auth: { token }, transports: ['websocket'], reconnection: false });
    try {
      const disconnected = new Promise<number>((resolve) => socket.on('disconnect', () => resolve(Date.now())));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const at = await disconnected;
      console.log(`session expiry with 2 s tolerance: disconnected ${at - exp} ms after exp`);
      expect(at).toBeGreaterThanOrEqual(exp + 2000);
    } finally {
      socket.disconnect();
      await lenient.close();
    }
  });

  it('emits session_expired {} and disconnects the socket once its token’s exp passes', async () => {
    const before = await metricValue(t.url, 'agent_pipeline_socket_disconnects_total', { reason: 'session_expired' });
    const token = expiringToken('expiring-alice', 2);
    const exp = (jwt.decode(token) as { exp: number }).exp * 1000;
    const socket = io(`${t.url}/agents`, { auth: { token }, transports: ['websocket'], reconnection: false });
    try {
      const seen: string[] = [];
      let payload: unknown;
      socket.on('session_expired', (p: unknown) => {
        payload = p;
        seen.push('session_expired');
      });
      const disconnected = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const reason = await disconnected;
      const at = Date.now();
      console.log(`session expiry: disconnected ${at - exp} ms after exp (${reason})`);
      expect(seen).toEqual(['session_expired']);
      expect(payload).toEqual({});
      expect(reason).toBe('io server disconnect');
      expect(at).toBeGreaterThanOrEqual(exp);
      expect(await metricValue(t.url, 'agent_pipeline_socket_disconnects_total', { reason: 'session_expired' })).toBe(before + 1);
    } finally {
      socket.disconnect();
    }
  });

  it('the typed client asks its token function again and carries on with the fresh token', async () => {
    let calls = 0;
    const client = await AgentPipelineClient.connect({
      url: t.url,
      token: () => expiringToken('renewing-bob', calls++ === 0 ? 2 : 3600),
      transports: ['websocket'],
      reconnectionDelay: 100,
    });
    const statuses: ConnectionStatusChange[] = [];
    client.onStatus((c) => statuses.push(c));
    try {
      const events = [];
      for await (const event of client.run('countdown', { steps: 30, intervalMs: 100 })) events.push(event);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
      expect(calls).toBe(2);
      expect(statuses).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ status: 'reconnecting', reason: 'session_expired' }),
          expect.objectContaining({ status: 'connected', previous: 'reconnecting' }),
        ]),
      );
      expect(client.status).toBe('connected');
    } finally {
      client.close();
    }
  });

  it('the typed client with a plain token string stops with UNAUTHORIZED (reason session_expired) instead of retrying', async () => {
    const client = await AgentPipelineClient.connect({ url: t.url, token: expiringToken('static-carol', 2), transports: ['websocket'] });
    const statuses: ConnectionStatusChange[] = [];
    client.onStatus((c) => statuses.push(c));
    await waitFor(() => client.status === 'disconnected', 'the client to stop', 5000);
    expect(statuses[statuses.length - 1]).toMatchObject({
      status: 'disconnected',
      reason: 'session_expired',
      error: { code: 'UNAUTHORIZED' },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(statuses.filter((s) => s.status === 'connecting' || s.status === 'reconnecting')).toEqual([]);
  });
});

describeCluster('MAX_SOCKETS_PER_USER across two nodes', () => {
  jest.setTimeout(60_000);
  const LEASE_MS = 1500;
  let nodes: TwoNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  const suffix = uniqueSuffix();
  const opened: Socket[] = [];

  beforeAll(async () => {
    nodes = await startTwoNodes('sockcap', { RUN_LEASE_MS: String(LEASE_MS), MAX_SOCKETS_PER_USER: '2' });
    ({ a, b } = nodes);
  });
  afterAll(async () => {
    for (const s of opened) s.disconnect();
    await nodes?.stop();
  });

  async function open(node: ServerProcess, userId: string): Promise<HandshakeOutcome> {
    const outcome = await tryConnect(node.url, { token: node.token(userId) });
    opened.push(outcome.socket);
    return outcome;
  }

  it('counts a user’s sockets on every node, and forgets a killed node’s sockets within the lease', async () => {
    const user = `cap-dana-${suffix}`;
    expect((await open(a, user)).connected).toBe(true);
    expect((await open(b, user)).connected).toBe(true);
    expect(refusal(await open(a, user))).toBe('too_many_connections');
    expect(refusal(await open(b, user))).toBe('too_many_connections');

    b.kill('SIGKILL');
    const killedAt = Date.now();
    await b.exited;
    let outcome: HandshakeOutcome | undefined;
    while (!outcome?.connected && Date.now() - killedAt < 4 * LEASE_MS + 5000) {
      await new Promise((r) => setTimeout(r, 200));
      outcome = await open(a, user);
    }
    console.log(`socket cap: the killed node's slot was free ${Date.now() - killedAt} ms after SIGKILL (lease ${LEASE_MS} ms)`);
    expect(outcome?.connected).toBe(true);
    expect(refusal(await open(a, user))).toBe('too_many_connections');
  });
});
