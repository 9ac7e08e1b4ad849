import { MESSAGE_METADATA } from '@nestjs/websockets/constants';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import {
  AGENT_EVENT_TYPES,
  CONNECTION_EVENT_TYPES,
  ERROR_CODES,
  RUN_STATUSES,
  type AgentErrorCode,
  type AgentEventEnvelope,
} from '@agent-pipeline/nestjs';
import { AgentsGateway } from '../packages/nestjs/src/transport/socket/agents.gateway';
import { recordEvents, startTestApp, waitFor, waitForTerminal, type TestApp } from './support/test-app';
import { resumeOrphanedRun } from './support/orphaned-run';

/**
 * docs/asyncapi.yaml against the code: the same commands as the gateway, the same events as
 * AGENT_EVENT_TYPES, the same codes as ERROR_CODES, and a running server's real events and acks
 * valid against its schemas. Any drift fails here.
 */

// js-yaml ships with @nestjs/swagger (a dependency); its types are not installed.

const yaml = require('js-yaml') as { load(text: string): unknown };

type Schema = Record<string, any>;
interface Message {
  name: string;
  'x-socketio-event'?: string;
  'x-socketio-ack'?: boolean;
  payload: Schema;
}
interface Operation {
  action: 'send' | 'receive';
  title: string;
  channel: { $ref: string };
  messages: { $ref: string }[];
  reply?: { messages: { $ref: string }[] };
}

const DOC_PATH = join(__dirname, '..', 'docs', 'asyncapi.yaml');
const doc = yaml.load(readFileSync(DOC_PATH, 'utf8')) as {
  asyncapi: string;
  channels: Record<string, { messages: Record<string, { $ref: string }> }>;
  operations: Record<string, Operation>;
  components: { messages: Record<string, Message>; schemas: Record<string, Schema> };
};

/** Every agent_error code; the compiler insists the keys are exactly the AgentErrorCode union. */
const AGENT_ERROR_CODES: Record<AgentErrorCode, true> = { AGENT_FAILED: true, TIMEOUT: true, INTERRUPTED: true };

function resolveRef(ref: string): any {
  if (!ref.startsWith('#/')) throw new Error(`Only local $refs are used here, not ${ref}`);
  let node: any = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`Unresolvable $ref ${ref}`);
  }
  return node.$ref ? resolveRef(node.$ref) : node;
}

const messageOf = (ref: { $ref: string }) => resolveRef(ref.$ref) as Message;
const operations = Object.values(doc.operations);
const commands = operations.filter((o) => o.action === 'send');
const events = operations.filter((o) => o.action === 'receive');

/** The schema keywords the validator below understands; the document may use no others. */
const KNOWN_KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'required',
  'properties',
  'additionalProperties',
  'items',
  '$ref',
  'oneOf',
  'minimum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'description',
  'default',
  'title',
]);

/** A small JSON Schema validator for the keywords above; returns the problems found. */
function validate(schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) return validate(resolveRef(schema.$ref), value, path);
  if (schema.oneOf) {
    const matching = (schema.oneOf as Schema[]).filter((s) => validate(s, value, path).length === 0).length;
    return matching === 1 ? [] : [`${path}: matches ${matching} of the oneOf schemas: ${JSON.stringify(value)}`];
  }
  const problems: string[] = [];
  if ('const' in schema && value !== schema.const)
    problems.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  if (schema.type) {
    const is: Record<string, (v: unknown) => boolean> = {
      string: (v) => typeof v === 'string',
      integer: (v) => Number.isInteger(v),
      number: (v) => typeof v === 'number' && Number.isFinite(v),
      boolean: (v) => typeof v === 'boolean',
      object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
      array: (v) => Array.isArray(v),
      null: (v) => v === null,
    };
    const types: string[] = [].concat(schema.type);
    if (!types.some((t) => is[t](value))) return [...problems, `${path}: ${JSON.stringify(value)} is not of type ${types.join('|')}`];
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum)
    problems.push(`${path}: ${value} < ${schema.minimum}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${path}: does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && (Number.isNaN(Date.parse(value)) || new Date(value).toISOString() !== value)) {
      problems.push(`${path}: ${value} is not an ISO-8601 date-time`);
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}: missing ${key}`);
    for (const [key, child] of Object.entries(record)) {
      const sub = schema.properties?.[key];
      if (sub) problems.push(...validate(sub, child, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}: unexpected property ${key}`);
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...validate(schema.items, item, `${path}[${i}]`)));
  return problems;
}

/** Every schema object in the document (for the keyword check). */
function allSchemas(): Schema[] {
  const found: Schema[] = [];
  const visit = (s: Schema) => {
    found.push(s);
    for (const sub of Object.values(s.properties ?? {})) visit(sub as Schema);
    for (const sub of s.oneOf ?? []) visit(sub);
    if (s.items) visit(s.items);
  };
  for (const s of Object.values(doc.components.schemas)) visit(s);
  for (const m of Object.values(doc.components.messages)) visit(m.payload);
  return found;
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('docs/asyncapi.yaml matches the code', () => {
  it('is an AsyncAPI 3.0 document whose $refs all resolve', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref') refs.push(value as string);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of refs) expect(() => resolveRef(ref)).not.toThrow();
  });

  it('uses only schema keywords its check understands', () => {
    const unknown = allSchemas().flatMap((s) => Object.keys(s).filter((k) => !KNOWN_KEYWORDS.has(k)));
    expect(unknown).toEqual([]);
  });

  it("has exactly the gateway's commands, each with its payload and an ack that may be an error", () => {
    const proto = AgentsGateway.prototype as unknown as Record<string, unknown>;
    const subscribed = Object.getOwnPropertyNames(proto)
      .map((name) => Reflect.getMetadata(MESSAGE_METADATA, proto[name] as object) as string | undefined)
      .filter((m): m is string => typeof m === 'string');
    expect(subscribed.length).toBeGreaterThan(0);
    expect(sorted(commands.map((c) => c.title))).toEqual(sorted(subscribed));
    for (const command of commands) {
      expect(command.messages.map((m) => messageOf(m)['x-socketio-event'])).toEqual([command.title]);
      const replies = (command.reply?.messages ?? []).map(messageOf);
      expect(replies).toHaveLength(1);
      expect(replies[0]['x-socketio-ack']).toBe(true);
      expect(replies[0].payload.oneOf).toContainEqual({ $ref: '#/components/schemas/AckError' });
    }
  });

  it('has exactly the event types of AGENT_EVENT_TYPES and CONNECTION_EVENT_TYPES, each run envelope typed with its own type', () => {
    expect(sorted(events.map((e) => e.title))).toEqual(sorted([...AGENT_EVENT_TYPES, ...CONNECTION_EVENT_TYPES]));
    for (const event of events.filter((e) => !(CONNECTION_EVENT_TYPES as readonly string[]).includes(e.title))) {
      const [message] = event.messages.map(messageOf);
      expect(message['x-socketio-event']).toBe(event.title);
      expect(resolveRef(message.payload.$ref).properties.type).toEqual({ const: event.title });
    }
  });

  it('has exactly the error codes, agent_error codes and run statuses of the code', () => {
    const schemas = doc.components.schemas;
    expect(schemas.ErrorCode.enum).toEqual(ERROR_CODES);
    expect(sorted(schemas.AgentErrorCode.enum)).toEqual(sorted(Object.keys(AGENT_ERROR_CODES)));
    expect(schemas.RunStatus.enum).toEqual(RUN_STATUSES);
  });

  it('lists every message it defines in the channel and uses each in an operation', () => {
    const defined = sorted(Object.keys(doc.components.messages).map((k) => `#/components/messages/${k}`));
    const inChannel = sorted(Object.values(doc.channels.agents.messages).map((m) => m.$ref));
    expect(inChannel).toEqual(defined);
    const used = new Set(operations.flatMap((o) => [...o.messages, ...(o.reply?.messages ?? [])].map((m) => m.$ref)));
    expect(sorted(used)).toEqual(sorted(Object.keys(doc.channels.agents.messages).map((k) => `#/channels/agents/messages/${k}`)));
  });

  describe('against a running server', () => {
    let t: TestApp;
    let socket: Socket;
    let received: AgentEventEnvelope[];
    beforeAll(async () => {
      t = await startTestApp();
      socket = await t.connect('asyncapi');
      received = recordEvents(socket);
    });
    afterAll(() => t.close());

    const commandByName = (name: string) => commands.find((c) => c.title === name)!;
    /** Sends a command after checking its payload against the document; checks the ack too. */
    async function send(name: string, payload: unknown): Promise<any> {
      const command = commandByName(name);
      expect(validate(messageOf(command.messages[0]).payload, payload)).toEqual([]);
      const ack = await socket.timeout(10_000).emitWithAck(name, payload);
      expect(validate(messageOf(command.reply!.messages[0]).payload, ack)).toEqual([]);
      return ack;
    }

    it('answers every command with acks the document describes, ok and error alike', async () => {
      expect((await send('agents:list', {})).ok).toBe(true);
      const started = await send('run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 20 } });
      expect(started.ok).toBe(true);
      expect((await send('run:cancel', { runId: started.runId })).ok).toBe(true);
      await waitForTerminal(received, started.runId);
      expect(await send('run:replay', { runId: started.runId, afterSeq: 0 })).toMatchObject({ ok: true, status: 'cancelled' });
      expect(await send('run:cancel', { runId: started.runId })).toMatchObject({ ok: false, error: { code: 'RUN_FINISHED' } });
      expect(await send('run:start', { agent: 'nope' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_AGENT' } });
      expect(await send('run:start', { agent: 'echo', input: { text: 5 } })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
      expect(await send('run:replay', { runId: 'missing' })).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
      // A thread's queue: queued ack, THREAD_BUSY refusal, replay of a queued run, superseded cancel.
      const long = { agent: 'countdown', input: { steps: 1000, intervalMs: 20 }, threadId: 'asyncapi-thread' };
      const running = await send('run:start', long);
      const queued = await send('run:start', { ...long, multitask: 'enqueue' });
      expect([running.status, queued.status]).toEqual(['running', 'queued']);
      expect(await send('run:start', { ...long, multitask: 'reject' })).toMatchObject({ ok: false, error: { code: 'THREAD_BUSY' } });
      expect(await send('run:replay', { runId: queued.runId })).toMatchObject({ ok: true, status: 'queued', lastSeq: 0 });
      const newest = await send('run:start', { ...long, multitask: 'interrupt' });
      expect(newest.ok).toBe(true);
      expect(await waitForTerminal(received, queued.runId)).toMatchObject({ seq: 1, data: { reason: 'superseded' } });
      await waitForTerminal(received, running.runId);
      expect((await send('run:cancel', { runId: newest.runId })).ok).toBe(true);
      await waitForTerminal(received, newest.runId);
      // Interrupts: an answer, and each refusal.
      const asking = await send('run:start', { agent: 'approval', input: { action: 'document it' } });
      await waitFor(() => received.some((e) => e.runId === asking.runId && e.type === 'interrupt_requested'), 'the question');
      const question = received.find((e) => e.runId === asking.runId && e.type === 'interrupt_requested')!.data as { interruptId: string };
      const answer = { runId: asking.runId, interruptId: question.interruptId };
      expect(await send('run:resume', { ...answer, interruptId: 'nope', approved: true })).toMatchObject({
        ok: false,
        error: { code: 'INTERRUPT_NOT_FOUND' },
      });
      expect(await send('run:resume', { ...answer, approved: true, reason: 'fine' })).toMatchObject({ ok: true, resolution: 'approved' });
      expect(await send('run:resume', { ...answer, approved: false })).toMatchObject({ ok: false, error: { code: 'INTERRUPT_RESOLVED' } });
      expect(await send('run:resume', { ...answer, runId: 'missing', approved: true })).toMatchObject({
        ok: false,
        error: { code: 'RUN_NOT_FOUND' },
      });
      await waitForTerminal(received, asking.runId);
    });

    it('emits events the document describes, for every demo agent and every terminal kind', async () => {
      const runs = [
        { agent: 'echo', input: { text: 'hi' } },
        { agent: 'calculator', input: { expression: '(1 + 2) * 3' } },
        { agent: 'calculator', input: { expression: '1 +' } },
        { agent: 'countdown', input: { steps: 2, intervalMs: 0 } },
        { agent: 'failing', input: { message: 'on purpose' } },
        // Asks, and nobody answers: interrupt_requested, then interrupt_resolved (expired).
        { agent: 'approval', input: { action: 'wait', timeoutMs: 1 } },
      ];
      for (const run of runs) {
        const ack = await send('run:start', run);
        await waitForTerminal(received, ack.runId);
      }
      // A durable run whose node died, taken over by this one: agent_resumed.
      const orphan = await resumeOrphanedRun(t.app, { userId: 'asyncapi', agent: 'countdown', input: { steps: 1, intervalMs: 0 } });
      await waitForTerminal(received, orphan.runId);
      // And a cancel, for agent_cancelled.
      const cancelled = await send('run:start', { agent: 'countdown', input: { steps: 1000, intervalMs: 50 } });
      await send('run:cancel', { runId: cancelled.runId });
      await waitForTerminal(received, cancelled.runId);
      const types = new Set(received.map((e) => e.type));
      expect(sorted(types)).toEqual(sorted(AGENT_EVENT_TYPES));
      for (const event of received) {
        const operation = events.find((e) => e.title === event.type)!;
        expect({ type: event.type, problems: validate(messageOf(operation.messages[0]).payload, event) }).toEqual({
          type: event.type,
          problems: [],
        });
      }
    });
  });
});
