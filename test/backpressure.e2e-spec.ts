import type { Socket as TcpSocket } from 'node:net';
import type { Socket } from 'socket.io-client';
import { AgentPipelineClient, type ConnectionStatusChange } from '@agent-pipeline/client';
import type { AgentEventEnvelope, AnyAgentEvent } from '@agent-pipeline/nestjs';
import { metricValue } from './support/metrics';
import { command, expectWellFormedRun, ofRun, recordEvents, startTestApp, waitForTerminal, type TestApp } from './support/test-app';

/** The TCP connection under a websocket-only socket.io-client socket. */
function tcpOf(socket: Socket): TcpSocket {
  const transport = socket.io.engine.transport as unknown as { name: string; ws?: { _socket?: TcpSocket } };
  if (transport.name !== 'websocket' || !transport.ws?._socket) throw new Error('expected a websocket transport');
  return transport.ws._socket;
}

const LIMIT = 65_536;
const STEPS = 10_000;

describe('slow consumers (SOCKET_MAX_BUFFERED_BYTES)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ SOCKET_MAX_BUFFERED_BYTES: String(LIMIT), RATE_LIMIT_RUNS_PER_MINUTE: '0' })));
  afterAll(async () => t?.close());

  const slowDisconnects = () => metricValue(t.url, 'agent_pipeline_socket_disconnects_total', { reason: 'slow_consumer' });

  it('disconnects a client that stopped reading, lets another user stream on, and the client catches up from the store exactly once', async () => {
    const before = await slowDisconnects();
    const client = await AgentPipelineClient.connect({
      url: t.url,
      token: t.token('stalled-alice'),
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 200,
    });
    const statuses: ConnectionStatusChange[] = [];
    client.onStatus((change) => statuses.push(change));
    try {
      // Three runs of ~2.5 MB each: more than the kernel's socket buffers take (up to tcp_wmem's
      // 4 MB on loopback), so the rest has to wait in the server's memory.
      const runs = [1, 2, 3].map(() => client.run('countdown', { steps: STEPS, intervalMs: 0 }));
      const iterators = runs.map((run) => run[Symbol.asyncIterator]());
      const yielded: AnyAgentEvent[][] = [];
      for (const iterator of iterators) yielded.push([(await iterator.next()).value as AnyAgentEvent]);
      const tcp = tcpOf(client.rawSocket as unknown as Socket);
      tcp.pause();
      const pausedAt = Date.now();

      // Another user, meanwhile: a whole run, in order, while alice's socket is stalled.
      const bob = await t.connect('unaffected-bob');
      const bobEvents = recordEvents(bob);
      const ack = await command(bob, 'run:start', { agent: 'countdown', input: { steps: 20, intervalMs: 5 } });
      expect(ack.ok).toBe(true);
      await waitForTerminal(bobEvents, ack.runId);
      expect(
        expectWellFormedRun(ofRun(bobEvents, ack.runId), { runId: ack.runId, threadId: ack.threadId, agent: 'countdown' }),
      ).toHaveLength(22);

      // Dropped before Engine.IO's ping timeout (45 s) would have noticed; slower than with a run that is not
      // durable, whose events do not wait for the store (and so pile up faster).
      let disconnects = before;
      for (const deadline = Date.now() + 40_000; Date.now() < deadline && disconnects === before;) {
        await new Promise((r) => setTimeout(r, 50));
        disconnects = await slowDisconnects();
      }
      console.log(`slow consumer: disconnected ${Date.now() - pausedAt} ms after it stopped reading (limit ${LIMIT} bytes)`);
      expect(disconnects).toBe(before + 1);

      tcp.resume();
      await Promise.all(
        iterators.map(async (iterator, i) => {
          for (;;) {
            const next = await iterator.next();
            if (next.done) return;
            yielded[i].push(next.value);
          }
        }),
      );
      for (const [i, run] of runs.entries()) {
        const { runId, threadId } = await run.started;
        // Every event once, in order, though the socket was dropped mid-run and caught up from the store.
        expectWellFormedRun(yielded[i] as AgentEventEnvelope[], { runId, threadId, agent: 'countdown' });
        expect(yielded[i]).toHaveLength(STEPS + 2);
      }
      expect(statuses.some((s) => s.status === 'connected' && s.previous === 'reconnecting')).toBe(true);
      // Catching up did not trip the limit a second time.
      expect(await slowDisconnects()).toBe(before + 1);
    } finally {
      client.close();
    }
  }, 120_000);

  it('replays a 10,000-event run to a slow reader in paced chunks without dropping it', async () => {
    const writer = await t.connect('slow-reader-carol');
    const events = recordEvents(writer);
    const ack = await command(writer, 'run:start', { agent: 'countdown', input: { steps: STEPS, intervalMs: 0 } });
    await waitForTerminal(events, ack.runId, 90_000);
    const before = await slowDisconnects();

    const reader = await t.connect('slow-reader-carol');
    const replayed = recordEvents(reader);
    const tcp = tcpOf(reader);
    // Reads 2 ms out of every 20: slow, but reading.
    tcp.pause();
    const throttle = setInterval(() => {
      tcp.resume();
      setTimeout(() => tcp.pause(), 2);
    }, 20);
    try {
      const startedAt = Date.now();
      const replay = await reader.timeout(60_000).emitWithAck('run:replay', { runId: ack.runId, afterSeq: 0 });
      console.log(`paced replay: ${replayed.length} events to a throttled reader in ${Date.now() - startedAt} ms`);
      expect(replay).toEqual({ ok: true, runId: ack.runId, status: 'completed', lastSeq: STEPS + 2 });
      expect(ofRun(replayed, ack.runId).map((e) => e.seq)).toEqual(Array.from({ length: STEPS + 2 }, (_, i) => i + 1));
      expect(reader.connected).toBe(true);
      expect(await slowDisconnects()).toBe(before);
    } finally {
      clearInterval(throttle);
      // After the last tick's pause, so the socket is left reading.
      await new Promise((r) => setTimeout(r, 10));
      tcp.resume();
    }
  }, 150_000);
});

describe('shutdown with a client that stopped reading', () => {
  it('closes without waiting for the stalled client (a websocket close handshake would wait 30 s)', async () => {
    const t = await startTestApp({ SHUTDOWN_GRACE_MS: '0' });
    const socket = await t.connect('stalled-at-shutdown');
    const events = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'echo', input: { text: 'x'.repeat(60_000) } });
    await waitForTerminal(events, ack.runId);
    const tcp = tcpOf(socket);
    tcp.pause();
    const startedAt = Date.now();
    try {
      await t.close();
      console.log(`shutdown with a stalled client took ${Date.now() - startedAt} ms`);
      expect(Date.now() - startedAt).toBeLessThan(15_000);
    } finally {
      tcp.resume();
      tcp.destroy();
    }
  }, 40_000);
});
