'use strict';
/**
 * The benchmark's baseline: a minimal plain Socket.IO server (no Nest, no framework) that speaks
 * the app's protocol for the workloads the bench drives and keeps every run and event in SQLite,
 * written for the bench and nothing else. It is what "the same features, no framework" costs:
 *
 * - namespace `/agents`, handshake `auth.token` verified exactly as the app does (jsonwebtoken,
 *   HS256 only, `sub` 1–128 chars), refusal `connect_error` `unauthorized`;
 * - every socket joins `user:<userId>`; events go to that room;
 * - `run:start` → ack `{ ok, runId, threadId }`, then (next macrotask) the demo agents' events with
 *   the same envelopes `{ runId, threadId, seq, type, agent, ts, data }` and per-run `seq`;
 * - `run:cancel` → aborts the run, `agent_cancelled`, ack `{ ok, runId }`;
 * - every run and event stored in SQLite (`DATABASE_URL=sqlite:<file>`, default in memory),
 *   written behind the sockets in one transaction per event-loop turn, the terminal event
 *   published only after its commit (bench/baseline-store.js);
 * - the same connection-state-recovery setting (`SOCKET_RECOVERY_MS`, default 0 = off, as the app) and frame size.
 *
 * It does not rate-limit or time out runs. Env: PORT (0 = any), HOST, JWT_SECRET (required),
 * DATABASE_URL, SOCKET_RECOVERY_MS, MAX_INPUT_BYTES.
 */
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');
const { BaselineStore } = require('./baseline-store');

const secret = process.env.JWT_SECRET;
if (!secret) {
  console.error('baseline: JWT_SECRET is required');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '0.0.0.0';
const recoveryMs = Number(process.env.SOCKET_RECOVERY_MS ?? 0);
const maxInputBytes = Number(process.env.MAX_INPUT_BYTES ?? 65_536);
const databaseUrl = process.env.DATABASE_URL ?? 'sqlite::memory:';
if (!databaseUrl.startsWith('sqlite:')) {
  console.error('baseline: DATABASE_URL must be sqlite:<file>');
  process.exit(1);
}
const store = new BaselineStore(databaseUrl.slice('sqlite:'.length) || ':memory:');

const TERMINAL = new Set(['agent_completed', 'agent_error', 'agent_cancelled']);

function verify(token) {
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new Error('missing token');
  const payload = jwt.verify(token, secret, { algorithms: ['HS256'] });
  const sub = typeof payload === 'object' ? payload.sub : undefined;
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128) throw new Error('bad sub');
  return sub;
}

// --- a tiny arithmetic evaluator (same operators as the app's calculator: + − × ÷, parentheses) ---
const OPS = { '+': '+', '-': '-', '\u2212': '-', '*': '*', '\u00d7': '*', '/': '/', '\u00f7': '/' };
function evaluate(source) {
  const tokens = [];
  for (let i = 0; i < source.length;) {
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\n') i++;
    else if (c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (c in OPS) {
      tokens.push(OPS[c]);
      i++;
    } else if ((c >= '0' && c <= '9') || c === '.') {
      const start = i;
      while (i < source.length && ((source[i] >= '0' && source[i] <= '9') || source[i] === '.')) i++;
      const n = Number(source.slice(start, i));
      if (!Number.isFinite(n)) throw new Error(`Invalid number at position ${start}`);
      tokens.push(n);
    } else throw new Error(`Unexpected character '${c}' at position ${i}`);
  }
  let k = 0;
  const expr = () => {
    let v = term();
    while (tokens[k] === '+' || tokens[k] === '-') v = tokens[k++] === '+' ? v + term() : v - term();
    return v;
  };
  const term = () => {
    let v = factor();
    while (tokens[k] === '*' || tokens[k] === '/') {
      const op = tokens[k++];
      const r = factor();
      if (op === '/' && r === 0) throw new Error('Division by zero');
      v = op === '*' ? v * r : v / r;
    }
    return v;
  };
  const factor = () => {
    const t = tokens[k++];
    if (typeof t === 'number') return t;
    if (t === '-') return -factor();
    if (t === '+') return factor();
    if (t === '(') {
      const v = expr();
      if (tokens[k++] !== ')') throw new Error("Missing ')'");
      return v;
    }
    throw new Error('Unexpected end of expression');
  };
  if (tokens.length === 0) throw new Error('The expression is empty');
  const v = expr();
  if (k !== tokens.length) throw new Error('Unexpected token');
  return v === 0 ? 0 : v;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const onAbort = () => {
      clear();
      reject(new Error('aborted'));
    };
    const done = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const clear = ms > 0 ? clearTimeout.bind(null, setTimeout(done, ms)) : clearImmediate.bind(null, setImmediate(done));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// --- the demo agents, same event sequences as src/demo-agents ---
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v, min, max) => Number.isInteger(v) && v >= min && v <= max;
const AGENTS = {
  echo: {
    valid: (i) => isObj(i) && typeof i.text === 'string',
    async run({ input, emit }) {
      emit.thinking('Echoing the text back');
      emit.delta(input.text);
      return input.text;
    },
  },
  calculator: {
    valid: (i) => isObj(i) && typeof i.expression === 'string' && i.expression.length <= 1000,
    async run({ input, emit }) {
      emit.thinking('Calculating the expression with the calculate tool');
      const toolCallId = randomUUID();
      emit.event('tool_executing', { toolCallId, tool: 'calculate', args: { expression: input.expression } });
      const started = performance.now();
      try {
        const result = evaluate(input.expression);
        emit.event('tool_completed', { toolCallId, tool: 'calculate', durationMs: performance.now() - started, result });
        return result;
      } catch (err) {
        emit.event('tool_completed', { toolCallId, tool: 'calculate', durationMs: performance.now() - started, error: err.message });
        throw new Error(`The expression could not be calculated: ${err.message}.`, { cause: err });
      }
    },
  },
  countdown: {
    valid: (i) => isObj(i) && isInt(i.steps, 1, 10_000) && isInt(i.intervalMs, 0, 60_000),
    async run({ input, emit, signal }) {
      for (let step = 1; step <= input.steps; step++) {
        await sleep(input.intervalMs, signal);
        if (signal.aborted) throw new Error('aborted');
        emit.thinking(`Step ${step} of ${input.steps}`);
      }
      return input.steps;
    },
  },
  failing: {
    valid: (i) => i === undefined || i === null || isObj(i),
    async run({ input, emit }) {
      emit.thinking('About to fail on purpose');
      throw new Error((input && input.message) || 'The failing agent failed, as it always does.');
    },
  },
};

const runs = new Map(); // runId -> { userId, controller, end }

const httpServer = http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(req.url === '/health' ? '{"status":"ok"}' : '{"statusCode":404}');
});
const io = new Server(httpServer, {
  maxHttpBufferSize: maxInputBytes * 4 + 16 * 1024,
  ...(recoveryMs > 0 ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: true } } : {}),
});
const nsp = io.of('/agents');

nsp.use((socket, next) => {
  try {
    const userId = verify(socket.handshake.auth && socket.handshake.auth.token);
    socket.data.userId = userId;
    socket.join(`user:${userId}`);
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

const fail = (code, message) => ({ ok: false, error: { code, message } });

function startRun(userId, payload) {
  if (!isObj(payload)) return fail('VALIDATION_FAILED', 'The run:start payload must be a JSON object.');
  const agent = AGENTS[payload.agent];
  if (!agent) return fail('UNKNOWN_AGENT', `Unknown agent '${payload.agent}'.`);
  if (Buffer.byteLength(JSON.stringify(payload.input ?? null)) > maxInputBytes) return fail('PAYLOAD_TOO_LARGE', 'Input too large.');
  if (!agent.valid(payload.input)) return fail('VALIDATION_FAILED', 'Invalid input.');
  const runId = randomUUID();
  const threadId = typeof payload.threadId === 'string' ? payload.threadId : randomUUID();
  const room = `user:${userId}`;
  const controller = new AbortController();
  const startedAt = Date.now();
  const row = {
    run_id: runId,
    thread_id: threadId,
    user_id: userId,
    agent: payload.agent,
    status: 'running',
    input: JSON.stringify(payload.input ?? null),
    result: null,
    error: null,
    created_at: new Date(startedAt).toISOString(),
    finished_at: null,
  };
  store.startRun(row);
  let seq = 0;
  let step = 0;
  let ended = false;
  const send = (type, data) => {
    if (ended) return;
    const envelope = { runId, threadId, seq: ++seq, type, agent: payload.agent, ts: new Date().toISOString(), data };
    if (!TERMINAL.has(type)) {
      nsp.to(room).emit(type, envelope);
      store.append(envelope);
      return;
    }
    ended = true;
    row.status = type === 'agent_completed' ? 'completed' : type === 'agent_error' ? 'failed' : 'cancelled';
    row.result = type === 'agent_completed' ? JSON.stringify(data.result ?? null) : null;
    row.error = type === 'agent_error' ? JSON.stringify({ code: data.code, message: data.message }) : null;
    row.finished_at = envelope.ts;
    store.end(row, envelope, () => nsp.to(room).emit(type, envelope));
  };
  const emit = {
    event: send,
    thinking: (thought) => send('agent_thinking', { thought, step: ++step }),
    delta: (delta) => {
      const messageId = randomUUID();
      send('agent_message_delta', { messageId, delta });
      return messageId;
    },
  };
  const end = (type, data) => {
    if (ended) return false;
    runs.delete(runId);
    send(type, data);
    return true;
  };
  runs.set(runId, { userId, controller, end });
  setImmediate(() => {
    send('agent_started', { input: payload.input ?? null });
    agent.run({ input: payload.input, emit, signal: controller.signal }).then(
      (result) => end('agent_completed', { result: result ?? null, durationMs: Date.now() - startedAt }),
      (err) => {
        if (!ended) end('agent_error', { code: 'AGENT_FAILED', message: err.message || 'Agent failed.' });
      },
    );
  });
  return { ok: true, runId, threadId };
}

nsp.on('connection', (socket) => {
  const userId = socket.data.userId;
  socket.on('run:start', (payload, ack) => {
    if (typeof ack !== 'function') return;
    try {
      ack(startRun(userId, payload));
    } catch (err) {
      ack(fail('INTERNAL', err.message));
    }
  });
  socket.on('run:cancel', (payload, ack) => {
    if (typeof ack !== 'function') return;
    const runId = isObj(payload) ? payload.runId : undefined;
    const run = typeof runId === 'string' ? runs.get(runId) : undefined;
    if (!run || run.userId !== userId) return ack(fail('RUN_NOT_FOUND', `Run '${runId}' not found.`));
    run.controller.abort('user');
    run.end('agent_cancelled', { reason: 'user' });
    ack({ ok: true, runId });
  });
  socket.on('agents:list', (_payload, ack) => {
    if (typeof ack === 'function') ack({ ok: true, agents: Object.keys(AGENTS).map((name) => ({ name, description: name })) });
  });
});

httpServer.listen(port, host, () => {
  const address = httpServer.address();
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  console.log(`Listening on http://${shown}:${address.port} (baseline, Socket.IO namespace /agents)`);
});

const stop = () => {
  io.close();
  store.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
