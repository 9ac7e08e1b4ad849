/**
 * The Socket.IO protocol of namespace `/agents`: commands, their payloads and acks.
 * Shared with clients: no server-only imports here.
 */
import type { AgentEventDataMap, AgentEventEnvelope, InterruptResolution, MultitaskPolicy, RunStatus } from './agent-event.types';
import type { ErrorBody } from './error-codes';
import type { JsonSchemaObject } from './json-schema.types';

/** The Socket.IO namespace of the agent protocol. */
export const AGENTS_NAMESPACE = '/agents';

/** An agent as listed to clients. */
export interface AgentInfo {
  name: string;
  description: string;
  /** JSON Schema of the agent's input, derived from its input class; `{ type: 'object' }` when it declares none. */
  inputSchema: JsonSchemaObject;
  /** Whether the agent's runs survive the loss of their node. */
  durable: boolean;
}

/** Payload of `run:start`: the agent to run, its input, and on which thread. */
export interface RunStartPayload {
  agent: string;
  input?: unknown;
  threadId?: string;
  /** What to do when the thread has a run in flight; the server's `THREAD_MULTITASK` when absent. */
  multitask?: MultitaskPolicy;
  /**
   * Names this start (1–255 printable ASCII characters, per user): sent again with the same
   * request, it starts nothing and is answered with the run it started (`replayed: true`).
   */
  idempotencyKey?: string;
  /**
   * W3C trace context of the caller (`00-<trace-id>-<span-id>-<flags>`): the run's spans continue
   * that trace, even when the run starts later (queued) or on another node.
   */
  traceparent?: string;
}
/** Payload of `run:cancel`. */
export interface RunCancelPayload {
  runId: string;
}
/**
 * Payload of `run:resume` (and body of `POST /runs/:runId/interrupts/:interruptId` without the
 * ids): answers the run's open interrupt. An `approval` takes `approved`; an `input` takes
 * `response` (or `approved: false` to decline it).
 */
export interface InterruptAnswer {
  approved?: boolean;
  response?: unknown;
  /** Why, in the user's words; carried in `interrupt_resolved`. */
  reason?: string;
}
/** Payload of `run:resume`: the answer to one open interrupt of a run. */
export interface RunResumePayload extends InterruptAnswer {
  runId: string;
  interruptId: string;
}
/** Payload of `run:replay`: the stored events after `afterSeq` (default 0) come first, then the ack. */
export interface RunReplayPayload {
  runId: string;
  afterSeq?: number;
}

/** Every command gets exactly one ack: `{ ok: true, … }`, or `{ ok: false, error }` with the contract's code. */
export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

/** `running`, or `queued` when the run waits for the runs before it on its thread. */
export type StartedRunStatus = Extract<RunStatus, 'queued' | 'running'>;
/**
 * The ack of `run:start`. A start whose `idempotencyKey` already named a run is answered with that
 * run, `replayed: true` and the run's current status (which may be any status by then).
 */
export type RunStartAck = Ack<
  | { runId: string; threadId: string; status: StartedRunStatus; replayed?: undefined }
  | { runId: string; threadId: string; status: RunStatus; replayed: true }
>;
/** The ack of `run:cancel`. */
export type RunCancelAck = Ack<{ runId: string }>;
/** The ack of `run:resume`. */
export type RunResumeAck = Ack<{ runId: string; interruptId: string; resolution: InterruptResolution }>;
/** The ack of `run:replay`, after the replayed events: the run's status and its last stored `seq`. */
export type RunReplayAck = Ack<{ runId: string; status: RunStatus; lastSeq: number }>;
/** The ack of `agents:list`. */
export type AgentsListAck = Ack<{ agents: AgentInfo[] }>;

/** Client → server commands, in socket.io's typed-events form. */
export interface ClientToServerEvents {
  'run:start': (payload: RunStartPayload, ack: (res: RunStartAck) => void) => void;
  'run:cancel': (payload: RunCancelPayload, ack: (res: RunCancelAck) => void) => void;
  'run:resume': (payload: RunResumePayload, ack: (res: RunResumeAck) => void) => void;
  'run:replay': (payload: RunReplayPayload, ack: (res: RunReplayAck) => void) => void;
  'agents:list': (payload: Record<string, never>, ack: (res: AgentsListAck) => void) => void;
}

/**
 * Events about the connection itself rather than a run: `session_expired` `{}` tells a socket
 * that its token expired and the server disconnects it next (reconnect with a fresh token).
 */
export const CONNECTION_EVENT_TYPES = ['session_expired'] as const;

/** One of {@link CONNECTION_EVENT_TYPES}. */
export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

/** Server → client events, in socket.io's typed-events form: the event name is the event type. */
export type ServerToClientEvents = {
  [T in keyof AgentEventDataMap]: (event: AgentEventEnvelope<T>) => void;
} & {
  [T in ConnectionEventType]: (payload: Record<string, never>) => void;
};

/** The longest idempotency key (`run:start` `idempotencyKey`, header `Idempotency-Key`). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** True for a valid idempotency key: 1–255 printable ASCII characters (space to `~`). */
export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= IDEMPOTENCY_KEY_MAX_LENGTH && /^[\x20-\x7e]+$/.test(value);
}
