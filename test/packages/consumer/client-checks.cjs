'use strict';
// The checks of client.cjs and client.mjs, run against whichever build of @agent-pipeline/client
// the caller loaded (`lib`): a run streamed to its user in order, nothing of it to another user,
// and refused handshakes. Run from the app of scripts/test-packages.js: node client.cjs <url>.
const assert = require('node:assert/strict');
const path = require('node:path');

const TIMEOUT_MS = 10_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** socket.io-client as the client package resolves it (it is that package's dependency, not the app's). */
function socketIoClient() {
  const clientDir = path.dirname(require.resolve('@agent-pipeline/client'));
  return require(require.resolve('socket.io-client', { paths: [clientDir] }));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Every event of `run` (an AgentRun), until the iteration ends after the terminal event. */
async function collect(run, what) {
  const events = [];
  const iterate = (async () => {
    for await (const event of run) events.push(event);
  })();
  try {
    await withTimeout(iterate, TIMEOUT_MS, what);
  } catch (err) {
    run.stop();
    err.message += `; events so far: ${JSON.stringify(events.map((e) => `${e.seq}:${e.type}`))}`;
    throw err;
  }
  return events;
}

/** The greeter's run for `name`, as the DESIGN example's agent emits it. */
function checkGreeting(events, name, started) {
  const greeting = `Hello, ${name}!`;
  const summary = JSON.stringify(events);
  assert.deepEqual(
    events.map((e) => e.type),
    ['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed'],
    `event types of the ${name} run: ${summary}`,
  );
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    `seq must be 1..n without gaps: ${summary}`,
  );
  for (const e of events) {
    assert.equal(e.runId, started.runId, `runId of ${e.type}`);
    assert.equal(e.threadId, started.threadId, `threadId of ${e.type}`);
    assert.equal(e.agent, 'greeter', `agent of ${e.type}`);
    assert.ok(e.ts !== undefined && e.ts !== null, `ts of ${e.type}`);
    assert.equal(typeof e.data, 'object', `data of ${e.type}`);
  }
  const [first, thinking, delta, completed] = events;
  if (first.data && 'input' in first.data) assert.deepEqual(first.data.input, { name }, 'agent_started.data.input');
  assert.equal(thinking.data.thought, 'Composing a greeting', 'agent_thinking.data.thought');
  assert.equal(delta.data.delta, greeting, 'agent_message_delta.data.delta');
  assert.equal(completed.data.result, greeting, 'agent_completed.data.result');
}

function openSocket(io, url, token) {
  const socket = io(`${url}/agents`, { auth: { token }, reconnection: false, forceNew: true });
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (err) => reject(new Error(`socket of ${token} refused: ${err.message}`)));
    }),
    TIMEOUT_MS,
    `connecting a raw socket as ${token}`,
  ).catch((err) => {
    socket.close();
    throw err;
  });
}

function refusal(io, url, token) {
  const socket = io(`${url}/agents`, { auth: { token }, reconnection: false, forceNew: true });
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error(`a handshake with token '${token}' was accepted`)));
      socket.once('connect_error', resolve);
    }),
    TIMEOUT_MS,
    `handshake with token '${token}'`,
  ).finally(() => socket.close());
}

async function runClientChecks(lib, { url, flavor }) {
  const { AgentPipelineClient, AgentPipelineError, isAgentPipelineError, AGENT_EVENT_TYPES, ERROR_CODES } = lib;
  assert.equal(typeof AgentPipelineClient?.connect, 'function', 'AgentPipelineClient.connect is exported');
  assert.equal(typeof AgentPipelineError, 'function', 'AgentPipelineError is exported');
  assert.ok(Array.isArray(AGENT_EVENT_TYPES) && AGENT_EVENT_TYPES.includes('agent_completed'), 'AGENT_EVENT_TYPES (protocol re-export)');
  assert.ok(Array.isArray(ERROR_CODES) && ERROR_CODES.includes('UNKNOWN_AGENT'), 'ERROR_CODES (protocol re-export)');
  const { io } = socketIoClient();
  const open = [];
  try {
    // Bob is connected before and during Alice's run and listens to every event type, twice over:
    // the client's '*' handler, and a raw socket that sees every packet whatever its name.
    const bob = await AgentPipelineClient.connect({ url, token: 'user:bob' });
    open.push(bob);
    const bobSeen = [];
    bob.on('*', (event) => bobSeen.push(event));
    const bobRaw = await openSocket(io, url, 'user:bob');
    open.push(bobRaw);
    const bobRawSeen = [];
    bobRaw.onAny((name, ...args) => bobRawSeen.push({ name, args }));

    const alice = await AgentPipelineClient.connect({ url, token: 'user:alice' });
    open.push(alice);
    const aliceSeen = [];
    alice.on('*', (event) => aliceSeen.push(event));

    const agents = await alice.listAgents();
    const greeter = agents.find((a) => a.name === 'greeter');
    assert.ok(greeter, `listAgents() has greeter: ${JSON.stringify(agents)}`);
    assert.equal(greeter.description, 'Greets someone by name.');

    const aliceRun = alice.run('greeter', { name: 'Ada' });
    const events = await collect(aliceRun, "alice's greeter run");
    const started = await aliceRun.started;
    checkGreeting(events, 'Ada', started);
    assert.deepEqual(
      aliceSeen.filter((e) => e.runId === started.runId).map((e) => e.seq),
      events.map((e) => e.seq),
      "alice's raw '*' handler got the run's events",
    );

    // Anything of Alice's run that could reach Bob would have by now.
    await sleep(300);
    assert.deepEqual(bobSeen, [], "bob's client received events while only alice ran");
    const leaked = bobRawSeen.filter((p) => {
      const text = JSON.stringify(p.args);
      return text.includes(started.runId) || text.includes(started.threadId) || text.includes('alice') || text.includes('Ada');
    });
    assert.deepEqual(leaked, [], "bob's raw socket received packets of alice's run");

    // Control: Bob's listeners do work; his own run reaches them, and not Alice.
    const bobRun = bob.run('greeter', { name: 'Bob' });
    const bobEvents = await collect(bobRun, "bob's greeter run");
    const bobStarted = await bobRun.started;
    checkGreeting(bobEvents, 'Bob', bobStarted);
    await sleep(200);
    assert.deepEqual(
      bobSeen.map((e) => e.seq),
      bobEvents.map((e) => e.seq),
      "bob's '*' handler got exactly his own run's events",
    );
    assert.ok(bobSeen.every((e) => e.runId === bobStarted.runId));
    assert.ok(
      bobRawSeen.some((p) => p.name === 'agent_completed' && p.args[0]?.runId === bobStarted.runId),
      "bob's raw socket got his own agent_completed",
    );
    assert.ok(!aliceSeen.some((e) => e.runId === bobStarted.runId), "alice received events of bob's run");

    // A refused handshake: Socket.IO's connect_error with message 'unauthorized'...
    const err = await refusal(io, url, 'nope');
    assert.equal(err.message, 'unauthorized', "connect_error message of token 'nope'");
    const none = await refusal(io, url, undefined);
    assert.equal(none.message, 'unauthorized', 'connect_error message without a token');
    // ...which the client turns into AgentPipelineError UNAUTHORIZED.
    await assert.rejects(AgentPipelineClient.connect({ url, token: 'nope', reconnectionAttempts: 0 }), (e) => {
      assert.ok(e instanceof AgentPipelineError, `expected an AgentPipelineError, got ${e}`);
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.ok(isAgentPipelineError(e, 'UNAUTHORIZED'));
      return true;
    });

    console.log(`${flavor}: ok (alice ${events.length} events seq 1..${events.length}; bob saw none of them; 'nope' refused)`);
  } finally {
    for (const client of open.reverse()) client.close();
  }
}

module.exports = { runClientChecks };
