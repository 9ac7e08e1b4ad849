/**
 * The wire contract for run events, shared by the server and its clients.
 * Nothing in this file may import server-only code: the client bundle imports it.
 */

/** JSON value accepted as agent input and produced as agent results. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Error codes of the terminal `agent_error` event. */
export type AgentErrorCode = 'AGENT_FAILED' | 'TIMEOUT' | 'INTERRUPTED';

/** What kind of question an interrupt asks: a yes/no approval, or an input the user types. */
export type InterruptKind = 'approval' | 'input';

/** How an interrupt ended: `approved` / `denied` (approval, or a declined input), `answered` (input), `expired`. */
export type InterruptResolution = 'approved' | 'denied' | 'answered' | 'expired';

/** Every {@link InterruptResolution}, for validation. */
export const INTERRUPT_RESOLUTIONS: readonly InterruptResolution[] = ['approved', 'denied', 'answered', 'expired'];

/** The `data` of `interrupt_requested`: the open question (also `interrupt` of a waiting run). */
export interface InterruptRequestedData {
  interruptId: string;
  kind: InterruptKind;
  message: string;
  /** The tool call this approval is about, when it is about one. */
  toolCallId?: string;
  tool?: string;
  args?: unknown;
  /** JSON Schema a `response` to an `input` question must satisfy. */
  responseSchema?: unknown;
  /** ISO-8601 time after which the question resolves as `expired`. */
  expiresAt: string;
}

/** The `data` of `interrupt_resolved`. */
export interface InterruptResolvedData {
  interruptId: string;
  resolution: InterruptResolution;
  response?: unknown;
  reason?: string;
}

/** Why a durable run was resumed: its node died or lost its lease (`node_lost`), or restarted (`restart`). */
export type ResumeReason = 'node_lost' | 'restart';

/** The `data` of `agent_resumed`: a durable run goes on after losing its node. */
export interface AgentResumedData {
  /** 2 for the first resume, then 3, … */
  attempt: number;
  /** Seq of the last stored event of the earlier attempt; `agent_resumed` itself is `afterSeq + 1`. */
  afterSeq: number;
  reason: ResumeReason;
}

/** Tokens of a run's model calls together (`usage` of the run and of `agent_completed`). */
export interface RunUsage {
  inputTokens: number;
  outputTokens: number;
}

/** The `data` of each event type. */
export interface AgentEventDataMap {
  agent_started: { input: unknown };
  agent_thinking: { thought: string; step: number };
  tool_executing: { toolCallId: string; tool: string; args: unknown };
  tool_completed: { toolCallId: string; tool: string; result?: unknown; error?: string; durationMs: number };
  agent_message_delta: { messageId: string; delta: string };
  /** `usage` is there when the run called a model. */
  agent_completed: { result: unknown; durationMs: number; usage?: RunUsage; [extra: string]: unknown };
  agent_error: { code: AgentErrorCode; message: string };
  agent_cancelled: { reason: string };
  interrupt_requested: InterruptRequestedData;
  interrupt_resolved: InterruptResolvedData;
  agent_resumed: AgentResumedData;
}

/** Every event type, in the order a run can produce them. */
export type AgentEventType = keyof AgentEventDataMap;

/** Every run event type, in the order a run can produce them (a client subscribes to each). */
export const AGENT_EVENT_TYPES: readonly AgentEventType[] = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_message_delta',
  'agent_completed',
  'agent_error',
  'agent_cancelled',
  'interrupt_requested',
  'interrupt_resolved',
  'agent_resumed',
];

/** Types that end a run; exactly one of them is the last event of every run. */
export const TERMINAL_EVENT_TYPES: readonly AgentEventType[] = ['agent_completed', 'agent_error', 'agent_cancelled'];

/** The three event types that end a run; exactly one of them is a run's last event. */
export type TerminalEventType = 'agent_completed' | 'agent_error' | 'agent_cancelled';

/** The envelope every event travels in; `(runId, seq)` identifies it. */
export interface AgentEventEnvelope<T extends AgentEventType = AgentEventType> {
  runId: string;
  threadId: string;
  /** 1 on `agent_started`, then +1 per event, without gaps. */
  seq: number;
  type: T;
  agent: string;
  /** ISO-8601 time the event was emitted. */
  ts: string;
  data: AgentEventDataMap[T];
}

/** Any envelope, discriminated by `type`. */
export type AnyAgentEvent = { [T in AgentEventType]: AgentEventEnvelope<T> }[AgentEventType];

/** Tells whether an event type ends its run. */
export function isTerminalEventType(type: string): type is TerminalEventType {
  return type === 'agent_completed' || type === 'agent_error' || type === 'agent_cancelled';
}

/**
 * Where a run stands. `queued`: stored, waiting for the runs before it on its thread (it has no
 * events yet); `running`: executing on a node; `waiting`: executing, but stopped on a question to
 * its user (an open interrupt); then one of the ended statuses its terminal event leads to.
 */
export type RunStatus = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

/** Every {@link RunStatus}, for validation. */
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'];

/**
 * The statuses of a run that has not ended: it holds its thread (multitask policy) and may still
 * emit events. The one definition of "in flight": a new in-flight status (`waiting`, an open
 * interrupt) joins this list and every check follows.
 */
export const IN_FLIGHT_STATUSES: readonly RunStatus[] = ['queued', 'running', 'waiting'];

/**
 * The in-flight statuses of a run that has started (it executes on a node, holds a lease and
 * counts toward the user's concurrency). A waiting run still lives in its node's memory.
 */
export const EXECUTING_STATUSES: readonly RunStatus[] = ['running', 'waiting'];

/** True while the run has not ended (see {@link IN_FLIGHT_STATUSES}). */
export function isInFlightStatus(status: string): boolean {
  return (IN_FLIGHT_STATUSES as readonly string[]).includes(status);
}

/** What `run:start` does on a thread that has a run in flight (DESIGN.md, "Runs and threads"). */
export type MultitaskPolicy = 'reject' | 'enqueue' | 'interrupt';

/** Every {@link MultitaskPolicy}, for validation. */
export const MULTITASK_POLICIES: readonly MultitaskPolicy[] = ['reject', 'enqueue', 'interrupt'];

/** The reason of `agent_cancelled` when a later run on the thread, started with `interrupt`, ended this one. */
export const SUPERSEDED_CANCEL_REASON = 'superseded';

/** The status a run has once its terminal event of this type is out. */
export function statusForTerminal(type: TerminalEventType): RunStatus {
  switch (type) {
    case 'agent_completed':
      return 'completed';
    case 'agent_error':
      return 'failed';
    case 'agent_cancelled':
      return 'cancelled';
  }
}
