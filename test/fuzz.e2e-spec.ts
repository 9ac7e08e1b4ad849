import type { Socket } from 'socket.io-client';
import { ERROR_CODES, type AgentEventEnvelope, type ErrorCode } from '@agent-pipeline/nestjs';
import { recordEvents, startTestApp, TestApp, waitForTerminal } from './support/test-app';

/**
 * Malformed commands, generated from a seeded PRNG (set FUZZ_SEED to explore other seeds; the
 * seed is printed). Every one must get exactly one ack `{ ok: false, error: { code } }` with the
 * code the contract gives it; the server must stay up and unpolluted.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const GENERATED = 260;

type Command = 'run:start' | 'run:cancel' | 'run:replay' | 'agents:list';
/** What the ack must be: an error code, or (agents:list only) either ok or VALIDATION_FAILED. */
type Expectation = ErrorCode | 'list-ok-or-invalid';
interface FuzzCase {
  name: string;
  command: Command;
  /** The arguments before the ack callback (none, one payload, or several). */
  args: unknown[];
  expect: Expectation;
}

/** mulberry32: small, fast, good enough to make the same cases from the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deep(levels: number, leaf: unknown = 'bottom'): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { nested: value };
  return value;
}

function deepArray(levels: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** `obj` with `__proto__`, `constructor` and `prototype` as own, enumerable keys (as JSON.parse makes them). */
function withPrototypeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const keys = JSON.parse(
    '{"__proto__":{"polluted":1,"agent":"echo"},"constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1}}',
  );
  return Object.assign(keys, obj);
}

const UNKNOWN_RUN = '00000000-0000-4000-8000-000000000000';

/** Values that are not a string (for string fields). */
const NOT_STRINGS: unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  false,
  null,
  {},
  { a: 1 },
  [],
  ['echo'],
  [[['x']]],
  { toString: 'echo' },
  Buffer.from('echo'),
  deep(5),
];

/** JSON values of every kind, for unknown keys that must simply be stripped. */
const JSON_VALUES: unknown[] = NOT_STRINGS.filter((v) => !Buffer.isBuffer(v)).concat(['text', '']);

/** Strings a string field must refuse: empty, too long, very long. */
const BAD_STRINGS: unknown[] = ['', 'x'.repeat(65), 'y'.repeat(10_000), 'z'.repeat(100_000)];

/** Payloads that are not a JSON object. */
const NON_OBJECTS: unknown[] = [
  'run:start',
  '',
  '{"agent":"echo"}',
  'q'.repeat(50_000),
  0,
  42,
  -3.25,
  1e308,
  true,
  false,
  null,
  [],
  [1, 2, 3],
  [{ agent: 'echo', input: { text: 'hi' } }],
  [[[[]]]],
  deepArray(200),
  Buffer.from([0xde, 0xad, 0xbe, 0xef]),
];

/** Bad values of `afterSeq`: negative, fractional, strings (NaN / numbers as text), other types. */
const BAD_AFTER_SEQ: unknown[] = [-1, -0.5, 0.5, 1.5, -1e308, 'NaN', '1', '0', 'abc', '', true, false, {}, [], [1], { seq: 1 }, deep(3)];

/** Bad `threadId`s: wrong types, empty, too long, characters outside [\w.:-]. */
const BAD_THREAD_IDS: unknown[] = [
  5,
  true,
  {},
  [],
  '',
  't'.repeat(129),
  'has space',
  '../../etc/passwd',
  'a/b',
  '<script>',
  'ü',
  'x\u0000y',
];

/** Inputs the demo agents refuse, per agent. */
const BAD_INPUTS: Record<string, unknown[]> = {
  echo: [
    undefined,
    null,
    'hi',
    5,
    [],
    ['hi'],
    {},
    { text: 5 },
    { text: null },
    { text: ['hi'] },
    { text: { a: 1 } },
    { txt: 'hi' },
    deep(200),
  ],
  countdown: [
    {},
    { steps: 0, intervalMs: 10 },
    { steps: -1, intervalMs: 10 },
    { steps: 1.5, intervalMs: 10 },
    { steps: '10', intervalMs: 10 },
    { steps: 'NaN', intervalMs: 10 },
    { steps: 10_001, intervalMs: 10 },
    { steps: 1e21, intervalMs: 10 },
    { steps: null, intervalMs: 10 },
    { steps: 3 },
    { steps: 3, intervalMs: -1 },
    { steps: 3, intervalMs: 60_001 },
    { steps: 3, intervalMs: '50' },
    { steps: 3, intervalMs: 0.5 },
    'countdown',
    [3, 50],
  ],
  calculator: [{}, { expression: 1 + 1 }, { expression: null }, { expression: ['1+1'] }, { expression: 'x'.repeat(1001) }, 2],
};

function makeCases(random: () => number, ownRunId: string, foreignRunId: string): FuzzCase[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const cases: FuzzCase[] = [];
  const add = (name: string, command: Command, args: unknown[], expect: Expectation) => cases.push({ name, command, args, expect });
  const runCommands = ['run:start', 'run:cancel', 'run:replay'] as const;

  // Fixed cases: every category at least once.
  for (const command of [...runCommands, 'agents:list'] as const) {
    const listOk = command === 'agents:list';
    NON_OBJECTS.forEach((p, i) =>
      add(
        `${command} non-object #${i}`,
        command,
        [p],
        listOk && (p === null || p === undefined) ? 'list-ok-or-invalid' : 'VALIDATION_FAILED',
      ),
    );
    add(`${command} without payload`, command, [], listOk ? 'list-ok-or-invalid' : 'VALIDATION_FAILED');
    add(`${command} with two payloads`, command, [{ agent: 'echo', runId: UNKNOWN_RUN }, { input: { text: 'x' } }], 'VALIDATION_FAILED');
    add(`${command} with three payloads`, command, ['a', 1, null], 'VALIDATION_FAILED');
  }
  add('run:start {} (agent missing)', 'run:start', [{}], 'VALIDATION_FAILED');
  add('run:start input only', 'run:start', [{ input: { text: 'hi' } }], 'VALIDATION_FAILED');
  add('run:cancel {} (runId missing)', 'run:cancel', [{}], 'VALIDATION_FAILED');
  add('run:replay {} (runId missing)', 'run:replay', [{}], 'VALIDATION_FAILED');
  add('run:replay afterSeq only', 'run:replay', [{ afterSeq: 0 }], 'VALIDATION_FAILED');
  add('run:start __proto__ (JSON.parse)', 'run:start', [JSON.parse('{"__proto__":{"polluted":1,"agent":"echo"}}')], 'VALIDATION_FAILED');
  add(
    'run:start __proto__ agent',
    'run:start',
    [JSON.parse('{"__proto__":{"polluted":1},"agent":"__proto__","input":{"text":"x"}}')],
    'UNKNOWN_AGENT',
  );
  add('run:start constructor agent', 'run:start', [JSON.parse('{"agent":"constructor","input":{"text":"x"}}')], 'UNKNOWN_AGENT');
  add('run:start hasOwnProperty agent', 'run:start', [{ agent: 'hasOwnProperty', input: { text: 'x' } }], 'UNKNOWN_AGENT');
  add('run:start toString agent', 'run:start', [{ agent: 'toString' }], 'UNKNOWN_AGENT');
  add(
    'run:start __proto__ in input',
    'run:start',
    [JSON.parse('{"agent":"echo","input":{"__proto__":{"text":"x","polluted":1}}}')],
    'VALIDATION_FAILED',
  );
  add(
    'run:start constructor.prototype in input',
    'run:start',
    [JSON.parse('{"agent":"countdown","input":{"constructor":{"prototype":{"polluted":1}},"steps":"1"}}')],
    'VALIDATION_FAILED',
  );
  add('run:cancel __proto__ runId', 'run:cancel', [JSON.parse('{"__proto__":{"runId":"x","polluted":1}}')], 'VALIDATION_FAILED');
  add('run:cancel runId "__proto__"', 'run:cancel', [{ runId: '__proto__' }], 'RUN_NOT_FOUND');
  add('run:replay runId "constructor"', 'run:replay', [{ runId: 'constructor' }], 'RUN_NOT_FOUND');
  add(
    'run:replay prototype keys',
    'run:replay',
    [JSON.parse('{"prototype":{"polluted":1},"constructor":{"polluted":1},"runId":5}')],
    'VALIDATION_FAILED',
  );
  add('run:start 200 levels deep payload', 'run:start', [{ agent: 'echo', input: { text: 'x' }, deep: deep(200) }], 'VALIDATION_FAILED');
  add('run:cancel 200 levels deep runId', 'run:cancel', [{ runId: deep(200) }], 'VALIDATION_FAILED');
  add('run:replay 200 levels deep afterSeq', 'run:replay', [{ runId: UNKNOWN_RUN, afterSeq: deep(200, 1) }], 'VALIDATION_FAILED');
  add('agents:list 200 levels deep', 'agents:list', [{ deep: deep(200) }], 'list-ok-or-invalid');
  add('run:start input over MAX_INPUT_BYTES', 'run:start', [{ agent: 'echo', input: { text: 'w'.repeat(70_000) } }], 'PAYLOAD_TOO_LARGE');
  add('run:start binary input', 'run:start', [{ agent: 'echo', input: Buffer.from('hi') }], 'VALIDATION_FAILED');
  add('run:replay afterSeq 1e308, unknown run', 'run:replay', [{ runId: UNKNOWN_RUN, afterSeq: 1e308 }], 'RUN_NOT_FOUND');
  add(
    'run:replay afterSeq MAX_SAFE_INTEGER+2, unknown run',
    'run:replay',
    [{ runId: UNKNOWN_RUN, afterSeq: Number.MAX_SAFE_INTEGER + 2 }],
    'RUN_NOT_FOUND',
  );
  add("run:replay another user's run", 'run:replay', [{ runId: foreignRunId, afterSeq: 0 }], 'RUN_NOT_FOUND');
  add("run:cancel another user's run", 'run:cancel', [{ runId: foreignRunId }], 'RUN_NOT_FOUND');
  add('run:cancel own ended run, extra keys', 'run:cancel', [{ runId: ownRunId, force: true, userId: 'bob' }], 'RUN_FINISHED');
  add('run:replay own run, afterSeq -1', 'run:replay', [{ runId: ownRunId, afterSeq: -1 }], 'VALIDATION_FAILED');
  add('run:replay own run, afterSeq "NaN"', 'run:replay', [{ runId: ownRunId, afterSeq: 'NaN' }], 'VALIDATION_FAILED');
  add('run:replay own run, userId override', 'run:replay', [{ runId: foreignRunId, userId: 'bob', afterSeq: 0 }], 'RUN_NOT_FOUND');

  // Generated cases: one fault per payload, plus noise (unknown keys, prototype keys) that must not change the answer.
  const noise = (payload: Record<string, unknown>): Record<string, unknown> => {
    const r = random();
    // (JSON values only: a Buffer anywhere makes the payload non-JSON, which is refused as such.)
    if (r < 0.25) return { ...payload, extra: pick(JSON_VALUES), [`k${Math.floor(random() * 1000)}`]: 'unknown' };
    if (r < 0.45) return withPrototypeKeys(payload);
    return payload;
  };
  const runIdValues = () => (random() < 0.5 ? pick(NOT_STRINGS) : pick(BAD_STRINGS));
  for (let i = 0; cases.length < GENERATED + 60 && i < 10_000; i++) {
    const command = pick(runCommands);
    const fault = random();
    if (command === 'run:start') {
      const agent = pick(['echo', 'countdown', 'calculator']);
      if (fault < 0.25) {
        add(`#${i} run:start bad agent`, command, [noise({ agent: runIdValues(), input: { text: 'x' } })], 'VALIDATION_FAILED');
      } else if (fault < 0.4) {
        add(
          `#${i} run:start bad threadId`,
          command,
          [noise({ agent, input: pick(BAD_INPUTS[agent]), threadId: pick(BAD_THREAD_IDS) })],
          'VALIDATION_FAILED',
        );
      } else if (fault < 0.55) {
        const name = pick(['ech0', 'Echo', 'ECHO', 'summarise', 'count-down', 'x'.repeat(64), ' echo', 'echo ', 'calculator\n']);
        add(`#${i} run:start unknown agent`, command, [noise({ agent: name, input: { text: 'x' } })], 'UNKNOWN_AGENT');
      } else if (fault < 0.65) {
        add(`#${i} run:start missing agent`, command, [noise({ input: { text: 'x' }, threadId: 't1' })], 'VALIDATION_FAILED');
      } else {
        const input = pick(BAD_INPUTS[agent]);
        add(
          `#${i} run:start bad ${agent} input`,
          command,
          [noise(input === undefined ? { agent } : { agent, input })],
          'VALIDATION_FAILED',
        );
      }
    } else if (command === 'run:cancel') {
      if (fault < 0.6) add(`#${i} run:cancel bad runId`, command, [noise({ runId: runIdValues() })], 'VALIDATION_FAILED');
      else if (fault < 0.75) add(`#${i} run:cancel missing runId`, command, [noise({ id: UNKNOWN_RUN })], 'VALIDATION_FAILED');
      else add(`#${i} run:cancel unknown run`, command, [noise({ runId: `run-${Math.floor(random() * 1e9)}` })], 'RUN_NOT_FOUND');
    } else {
      if (fault < 0.35) add(`#${i} run:replay bad runId`, command, [noise({ runId: runIdValues(), afterSeq: 0 })], 'VALIDATION_FAILED');
      else if (fault < 0.75) {
        const runId = pick([UNKNOWN_RUN, ownRunId, foreignRunId]);
        add(`#${i} run:replay bad afterSeq`, command, [noise({ runId, afterSeq: pick(BAD_AFTER_SEQ) })], 'VALIDATION_FAILED');
      } else if (fault < 0.85)
        add(`#${i} run:replay missing runId`, command, [noise({ afterSeq: Math.floor(random() * 10) })], 'VALIDATION_FAILED');
      else
        add(
          `#${i} run:replay unknown run`,
          command,
          [noise({ runId: `run-${Math.floor(random() * 1e9)}`, afterSeq: Math.floor(random() * 10) })],
          'RUN_NOT_FOUND',
        );
    }
  }
  // Some agents:list payloads: objects are fine (unknown keys ignored), the rest is refused.
  for (let i = 0; i < 20; i++) {
    const p = random() < 0.5 ? noise({ [`k${i}`]: pick(NOT_STRINGS) }) : pick(NON_OBJECTS);
    // null counts as "no payload" for agents:list.
    const isObject = p === null || (typeof p === 'object' && !Array.isArray(p) && !Buffer.isBuffer(p));
    add(`agents:list generated #${i}`, 'agents:list', [p], isObject ? 'list-ok-or-invalid' : 'VALIDATION_FAILED');
  }
  return cases;
}

describe('fuzz: malformed commands (real sockets)', () => {
  let t: TestApp;
  let socket: Socket;
  let events: AgentEventEnvelope[];
  const exceptions: unknown[] = [];
  let ownRunId: string;
  let foreignRunId: string;

  beforeAll(async () => {
    t = await startTestApp();
    socket = await t.connect('alice');
    events = recordEvents(socket);
    socket.on('exception', (e: unknown) => exceptions.push(e));
    const own = await socket.timeout(10_000).emitWithAck('run:start', { agent: 'echo', input: { text: 'mine' } });
    ownRunId = own.runId;
    await waitForTerminal(events, ownRunId);
    const bob = await t.connect('bob');
    const bobEvents = recordEvents(bob);
    const foreign = await bob.timeout(10_000).emitWithAck('run:start', { agent: 'echo', input: { text: 'bob' } });
    foreignRunId = foreign.runId;
    await waitForTerminal(bobEvents, foreignRunId);
  });
  afterAll(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
    return t.close();
  });

  it(`acks each of ${GENERATED}+ malformed payloads with the right error code, and the server keeps working`, async () => {
    const cases = makeCases(prng(SEED), ownRunId, foreignRunId);
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces it): ${cases.length} cases`);
    expect(cases.length).toBeGreaterThanOrEqual(200);

    const tally: Record<string, number> = {};
    const wrong: string[] = [];
    let listOk = 0;
    for (const c of cases) {
      let ack: any;
      try {
        ack = await socket.timeout(10_000).emitWithAck(c.command, ...c.args);
      } catch (err) {
        wrong.push(`${c.name}: no ack (${(err as Error).message})`);
        continue;
      }
      if (c.expect === 'list-ok-or-invalid' && ack?.ok === true && Array.isArray(ack.agents)) {
        listOk++;
        continue;
      }
      const code = ack?.error?.code;
      tally[`${c.command} ${code}`] = (tally[`${c.command} ${code}`] ?? 0) + 1;
      const expected = c.expect === 'list-ok-or-invalid' ? 'VALIDATION_FAILED' : c.expect;
      const wellFormed =
        ack?.ok === false && ERROR_CODES.includes(code) && typeof ack.error.message === 'string' && ack.error.message.length > 0;
      if (!wellFormed || code !== expected) wrong.push(`${c.name}: expected ${expected}, got ${JSON.stringify(ack).slice(0, 300)}`);
    }
    console.log(`fuzz acks by command and code: ${JSON.stringify(tally)}; agents:list answered ok: ${listOk}`);
    expect(wrong).toEqual([]);
    expect(exceptions).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    // No malformed command started a run: only the two set-up runs exist.
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set([ownRunId]));

    // Still serving: a normal run on the same socket, and on a new one.
    for (const s of [socket, await t.connect('carol')]) {
      const runEvents = s === socket ? events : recordEvents(s);
      const ack = await s.timeout(10_000).emitWithAck('run:start', { agent: 'echo', input: { text: 'after the fuzz' } });
      expect(ack.ok).toBe(true);
      const terminal = await waitForTerminal(runEvents, ack.runId);
      expect(terminal.type).toBe('agent_completed');
      expect(terminal.data).toEqual(expect.objectContaining({ result: 'after the fuzz' }));
    }
  });

  it('names the invalid field in the message', async () => {
    const ack = await socket.timeout(10_000).emitWithAck('run:replay', { runId: UNKNOWN_RUN, afterSeq: -1 });
    expect(ack.error).toEqual(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('afterSeq') }));
    const start = await socket.timeout(10_000).emitWithAck('run:start', { agent: 'countdown', input: { steps: 'ten', intervalMs: 5 } });
    expect(start.error).toEqual(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('steps') }));
    const unknown = await socket.timeout(10_000).emitWithAck('run:start', { agent: 'ech', input: { text: 'x' } });
    expect(unknown.error).toEqual(expect.objectContaining({ code: 'UNKNOWN_AGENT', message: expect.stringContaining('echo') }));
  });

  it('strips prototype keys from an otherwise valid payload: the run completes and nothing is polluted', async () => {
    const payload = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"agent":"echo","input":{"__proto__":{"polluted":1},"text":"clean","constructor":{"prototype":{"polluted":1}}}}',
    );
    const ack = await socket.timeout(10_000).emitWithAck('run:start', payload);
    expect(ack.ok).toBe(true);
    const terminal = await waitForTerminal(events, ack.runId);
    expect(terminal.data).toEqual(expect.objectContaining({ result: 'clean' }));
    const started = events.find((e) => e.runId === ack.runId && e.type === 'agent_started')!;
    expect(started.data).toEqual({ input: { text: 'clean' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('survives raw, unparsable Socket.IO packets', async () => {
    const raw = await t.connect('dave');
    const closed = new Promise<string>((resolve) => raw.once('disconnect', (reason) => resolve(reason)));
    // Engine.IO "message" frames holding broken Socket.IO packets for namespace /agents.
    for (const packet of [
      '2/agents,["run:start",{',
      '2/agents,1["run:start"',
      '2/agents,{"not":"an array"}',
      '9/agents,[]',
      '2/agents,[]',
    ]) {
      raw.io.engine.send(packet);
    }
    const outcome = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still connected'), 1000))]);
    console.log(`raw broken packets: ${outcome}`);
    const fresh = await t.connect('dave');
    const list = await fresh.timeout(10_000).emitWithAck('agents:list', {});
    expect(list.ok).toBe(true);
  });
});
