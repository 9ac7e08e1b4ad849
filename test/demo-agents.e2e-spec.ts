import type { Socket } from 'socket.io-client';
import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import {
  command,
  expectWellFormedRun,
  ofRun,
  recordEvents,
  recordExceptions,
  roundTrip,
  startTestApp,
  TestApp,
  waitForTerminal,
} from './support/test-app';

const DEMO_AGENT_NAMES = ['approval', 'calculator', 'countdown', 'echo', 'failing'];

interface Session {
  socket: Socket;
  events: AgentEventEnvelope[];
  exceptions: unknown[];
}

/** Starts a run, waits for its terminal event and checks the invariants every run shares. */
async function run(
  s: Session,
  agent: string,
  input: unknown,
  threadId?: string,
): Promise<{ ack: { ok: true; runId: string; threadId: string }; events: AgentEventEnvelope[]; types: string[] }> {
  const ack = await command(s.socket, 'run:start', { agent, input, ...(threadId === undefined ? {} : { threadId }) });
  expect(ack).toEqual({ ok: true, runId: expect.any(String), threadId: expect.any(String), status: 'running' });
  await waitForTerminal(s.events, ack.runId);
  // Anything emitted after the terminal event would be written before this ack.
  await roundTrip(s.socket);
  const events = ofRun(s.events, ack.runId);
  const types = expectWellFormedRun(events, { runId: ack.runId, threadId: ack.threadId, agent });
  return { ack, events, types };
}

describe('demo agents over Socket.IO', () => {
  let t: TestApp;
  let s: Session;
  const sessions: Session[] = [];

  const open = async (userId: string): Promise<Session> => {
    const socket = await t.connect(userId);
    const session = { socket, events: recordEvents(socket), exceptions: recordExceptions(socket) };
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    t = await startTestApp();
    s = await open('demo-alice');
  });
  afterAll(async () => {
    // No command anywhere in this file may be answered by an `exception` event.
    expect(sessions.flatMap((x) => x.exceptions)).toEqual([]);
    await t.close();
  });

  describe('echo', () => {
    it('emits started, thinking, message_delta(text), completed with the text', async () => {
      const { ack, events, types } = await run(s, 'echo', { text: 'Hello, world' });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);
      expect(events[0].data).toEqual({ input: { text: 'Hello, world' } });
      expect(events[1].data).toEqual({ thought: expect.any(String), step: 1 });
      expect(events[2].data).toEqual({ messageId: expect.any(String), delta: 'Hello, world' });
      expect(events[3].data).toEqual({ result: 'Hello, world', durationMs: expect.any(Number) });
      expect((events[3].data as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
      expect(events[0].runId).toBe(ack.runId);
    });

    it('echoes an empty text', async () => {
      const { events, types } = await run(s, 'echo', { text: '' });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);
      expect(events[3].data).toMatchObject({ result: '' });
    });

    it('gives every run its own runId', async () => {
      const a = await run(s, 'echo', { text: 'a' });
      const b = await run(s, 'echo', { text: 'b' });
      expect(a.ack.runId).not.toBe(b.ack.runId);
    });
  });

  describe('calculator', () => {
    it('calculates 2 + 3 * (4 - 1) = 11 through one calculate tool call', async () => {
      const expression = '2 + 3 * (4 - 1)';
      const { events, types } = await run(s, 'calculator', { expression });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
      expect(events[0].data).toEqual({ input: { expression } });
      expect(events[1].data).toEqual({ thought: expect.any(String), step: 1 });
      expect(events[2].data).toEqual({ toolCallId: expect.any(String), tool: 'calculate', args: { expression } });
      const { toolCallId } = events[2].data as { toolCallId: string };
      expect(toolCallId.length).toBeGreaterThan(0);
      expect(events[3].data).toEqual({ toolCallId, tool: 'calculate', result: 11, durationMs: expect.any(Number) });
      expect(events[4].data).toEqual({ result: 11, durationMs: expect.any(Number) });
    });

    it.each([
      ['1.5 + 2.25', 3.75],
      ['(1 + 2) × 3.5', 10.5],
      ['10 ÷ 4', 2.5],
      ['8 − 3 − 2', 3],
      ['-(2 + 3) * 2', -10],
      ['2 * 3 + 4 * 5', 26],
    ])('calculates %s = %d', async (expression, expected) => {
      const { events, types } = await run(s, 'calculator', { expression });
      expect(types.at(-1)).toBe('agent_completed');
      expect(events.at(-1)!.data).toMatchObject({ result: expected });
    });

    it('ends a bad expression with a tool error, then agent_error AGENT_FAILED', async () => {
      const { events, types } = await run(s, 'calculator', { expression: '2 +' });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_error']);
      const { toolCallId } = events[2].data as { toolCallId: string };
      expect(events[3].data).toEqual({ toolCallId, tool: 'calculate', error: expect.any(String), durationMs: expect.any(Number) });
      expect((events[3].data as { error: string }).error.length).toBeGreaterThan(0);
      expect(events[4].data).toEqual({ code: 'AGENT_FAILED', message: expect.any(String) });
    });

    it.each(['1 / 0', 'process.exit(1)', '2 ** 3', '(1 + 2'])('fails the run for %s without crashing the server', async (expression) => {
      const { types, events } = await run(s, 'calculator', { expression });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_error']);
      expect(events[3].data).toHaveProperty('error');
      expect(events[3].data).not.toHaveProperty('result');
      expect(events[4].data).toMatchObject({ code: 'AGENT_FAILED' });
    });
  });

  describe('countdown', () => {
    it('emits one thinking event per step, steps 1..3, and completes with 3', async () => {
      const input = { steps: 3, intervalMs: 10 };
      const { events, types } = await run(s, 'countdown', input);
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_thinking', 'agent_thinking', 'agent_completed']);
      expect(events[0].data).toEqual({ input });
      expect(events.slice(1, 4).map((e) => e.data)).toEqual([
        { thought: expect.any(String), step: 1 },
        { thought: expect.any(String), step: 2 },
        { thought: expect.any(String), step: 3 },
      ]);
      expect(events[4].data).toEqual({ result: 3, durationMs: expect.any(Number) });
    });

    it('counts 50 steps with no interval, seq 1..52', async () => {
      const { events, types } = await run(s, 'countdown', { steps: 50, intervalMs: 0 });
      expect(types).toHaveLength(52);
      expect(events.filter((e) => e.type === 'agent_thinking').map((e) => (e.data as { step: number }).step)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      expect(events.at(-1)!.data).toMatchObject({ result: 50 });
    });
  });

  describe('failing', () => {
    it('emits started, thinking, agent_error AGENT_FAILED with the message', async () => {
      const { events, types } = await run(s, 'failing', { message: 'boom' });
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_error']);
      expect(events[0].data).toEqual({ input: { message: 'boom' } });
      expect(events[1].data).toEqual({ thought: expect.any(String), step: 1 });
      expect(events[2].data).toEqual({ code: 'AGENT_FAILED', message: 'boom' });
    });

    it('fails with a default message when given none', async () => {
      const { events, types } = await run(s, 'failing', {});
      expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_error']);
      expect(events[2].data).toEqual({ code: 'AGENT_FAILED', message: expect.stringMatching(/\S/) });
    });
  });

  describe('input validation', () => {
    let v: Session;
    beforeAll(async () => (v = await open('demo-validation')));
    afterAll(async () => {
      // A refused start makes no run: not one event reached the user.
      await roundTrip(v.socket);
      expect(v.events).toEqual([]);
    });

    it.each([
      ['countdown steps 0', 'countdown', { steps: 0, intervalMs: 10 }, 'steps'],
      ['countdown steps 10001', 'countdown', { steps: 10_001, intervalMs: 10 }, 'steps'],
      ['countdown steps "5" (a string)', 'countdown', { steps: '5', intervalMs: 10 }, 'steps'],
      ['countdown steps 1.5', 'countdown', { steps: 1.5, intervalMs: 10 }, 'steps'],
      ['countdown intervalMs -1', 'countdown', { steps: 1, intervalMs: -1 }, 'intervalMs'],
      ['countdown intervalMs 60001', 'countdown', { steps: 1, intervalMs: 60_001 }, 'intervalMs'],
      ['echo without text', 'echo', {}, 'text'],
      ['echo without input', 'echo', undefined, 'text'],
      ['echo with a numeric text', 'echo', { text: 5 }, 'text'],
      ['echo with a string as input', 'echo', 'hello', 'input'],
      ['calculator without expression', 'calculator', { other: '1 + 1' }, 'expression'],
      ['failing with a numeric message', 'failing', { message: 42 }, 'message'],
    ])('refuses %s with VALIDATION_FAILED naming the field', async (_name, agent, input, field) => {
      const ack = await command(v.socket, 'run:start', { agent, input });
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
      expect(Object.keys(ack).sort()).toEqual(['error', 'ok']);
      expect(ack.error.message).toContain(field);
    });

    it('refuses an unknown agent with UNKNOWN_AGENT that lists the agents and suggests the closest', async () => {
      const ack = await command(v.socket, 'run:start', { agent: 'ecoh', input: { text: 'hi' } });
      expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_AGENT', message: expect.any(String) } });
      const { message } = ack.error as { message: string };
      expect(message).toContain("'ecoh'");
      for (const name of DEMO_AGENT_NAMES) expect(message).toContain(name);
      expect(message).toMatch(/did you mean 'echo'/i);
    });

    it('refuses an unknown agent with no close name without suggesting one', async () => {
      const ack = await command(v.socket, 'run:start', { agent: 'summarize-everything', input: {} });
      expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_AGENT' } });
      expect(ack.error.message).not.toMatch(/did you mean/i);
    });

    it.each([
      ['with a space', 'my thread'],
      ['of 129 characters', 't'.repeat(129)],
      ['empty', ''],
      ['a number', 42],
    ])('refuses a threadId %s with VALIDATION_FAILED naming threadId', async (_name, threadId) => {
      const ack = await command(v.socket, 'run:start', { agent: 'echo', input: { text: 'x' }, threadId });
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(ack.error.message).toContain('threadId');
    });
  });

  describe('agents:list', () => {
    it('lists the four demo agents with descriptions', async () => {
      const ack = await command(s.socket, 'agents:list', {});
      expect(ack).toEqual({ ok: true, agents: expect.any(Array) });
      const agents = ack.agents as Array<{ name: string; description: string }>;
      expect(agents.map((a) => a.name).sort()).toEqual(DEMO_AGENT_NAMES);
      for (const agent of agents) {
        expect(agent).toEqual({
          name: expect.any(String),
          description: expect.any(String),
          inputSchema: expect.any(Object),
          durable: expect.any(Boolean),
        });
        expect(agent.description.trim().length).toBeGreaterThan(0);
      }
    });
  });

  describe('threadId', () => {
    it("keeps the caller's threadId in the ack and on every event", async () => {
      const threadId = 'thread-42_a.b:c';
      const { ack, events } = await run(s, 'countdown', { steps: 2, intervalMs: 1 }, threadId);
      expect(ack.threadId).toBe(threadId);
      expect(events).toHaveLength(4);
      expect(new Set(events.map((e) => e.threadId))).toEqual(new Set([threadId]));
    });

    it('keeps the same caller threadId across runs of one conversation', async () => {
      const threadId = 'conversation-7';
      const first = await run(s, 'echo', { text: 'one' }, threadId);
      const second = await run(s, 'calculator', { expression: '1 + 1' }, threadId);
      expect(first.ack.runId).not.toBe(second.ack.runId);
      expect([...first.events, ...second.events].every((e) => e.threadId === threadId)).toBe(true);
    });

    it('makes a new threadId when none is given, the same on every event of the run', async () => {
      const first = await run(s, 'countdown', { steps: 3, intervalMs: 1 });
      const second = await run(s, 'echo', { text: 'x' });
      for (const r of [first, second]) {
        expect(r.ack.threadId.length).toBeGreaterThan(0);
        expect(new Set(r.events.map((e) => e.threadId))).toEqual(new Set([r.ack.threadId]));
      }
      expect(first.ack.threadId).not.toBe(second.ack.threadId);
    });
  });

  describe('commands on bad input: exactly one ack, never an exception event', () => {
    let c: Session;
    beforeAll(async () => (c = await open('demo-commands')));
    afterAll(async () => {
      await roundTrip(c.socket);
      expect(c.events).toEqual([]);
      expect(c.exceptions).toEqual([]);
    });

    /** Emits with raw arguments and collects every ack that arrives until a later round trip. */
    const acksOf = async (event: string, ...args: unknown[]): Promise<any[]> => {
      const acks: any[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 10_000);
        c.socket.emit(event, ...args, (res: unknown) => {
          acks.push(res);
          clearTimeout(timer);
          resolve();
        });
      });
      await roundTrip(c.socket);
      return acks;
    };

    it.each([
      ['a string', ['echo']],
      ['a number', [42]],
      ['null', [null]],
      ['an array', [[{ agent: 'echo', input: { text: 'x' } }]]],
      ['an empty object', [{}]],
      ['a numeric agent', [{ agent: 5 }]],
      ['an empty agent name', [{ agent: '' }]],
      ['a boolean', [true]],
      ['no payload at all', []],
    ])('run:start with %s gets one VALIDATION_FAILED ack', async (_name, args) => {
      const acks = await acksOf('run:start', ...args);
      expect(acks).toHaveLength(1);
      expect(acks[0]).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    });

    it('run:start with an object payload missing agent names the field', async () => {
      const [ack] = await acksOf('run:start', { input: { text: 'x' } });
      expect(ack.error.message).toContain('agent');
    });

    it('agents:list with only an ack callback is ok', async () => {
      const acks = await acksOf('agents:list');
      expect(acks).toHaveLength(1);
      expect(acks[0]).toMatchObject({ ok: true });
      expect((acks[0].agents as Array<{ name: string }>).map((a) => a.name).sort()).toEqual(DEMO_AGENT_NAMES);
    });

    it.each([
      ['a string', 'x'],
      ['an array', [1, 2]],
      ['a number', 7],
    ])('agents:list with %s gets one VALIDATION_FAILED ack', async (_name, payload) => {
      const acks = await acksOf('agents:list', payload);
      expect(acks).toHaveLength(1);
      expect(acks[0]).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    });

    it.each(['run:cancel', 'run:replay'])('%s with a non-object payload gets one VALIDATION_FAILED ack', async (event) => {
      for (const payload of ['x', 5, null, []]) {
        const acks = await acksOf(event, payload);
        expect(acks).toHaveLength(1);
        expect(acks[0]).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      }
    });

    it('the socket still works after all that bad input', async () => {
      const ack = await command(c.socket, 'agents:list', {});
      expect(ack.ok).toBe(true);
    });
  });
});

describe('DEMO_AGENTS=false', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ DEMO_AGENTS: 'false' })));
  afterAll(() => t.close());

  it('lists no demo agent and refuses to start one', async () => {
    const socket = await t.connect('no-demo');
    const exceptions = recordExceptions(socket);
    const list = await command(socket, 'agents:list', {});
    expect(list).toMatchObject({ ok: true, agents: expect.any(Array) });
    const names = (list.agents as Array<{ name: string }>).map((a) => a.name);
    for (const name of DEMO_AGENT_NAMES) expect(names).not.toContain(name);

    const ack = await command(socket, 'run:start', { agent: 'echo', input: { text: 'hi' } });
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_AGENT' } });
    expect(exceptions).toEqual([]);
  });
});
