import type { AgentEventEnvelope, RunStatus } from '../events/agent-event.types';

/** A run as stored and served. */
export interface RunRecord {
  runId: string;
  threadId: string;
  userId: string;
  agent: string;
  status: RunStatus;
  input: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  createdAt: string;
  finishedAt?: string;
  /** Seq of the last stored event (0 when none is stored yet). */
  lastSeq: number;
  /** The node executing (or that executed) the run. */
  nodeId: string;
}

export interface NewRun {
  runId: string;
  threadId: string;
  userId: string;
  agent: string;
  input: unknown;
  createdAt: Date;
  nodeId: string;
  leaseUntil: Date;
}

export interface ListRunsQuery {
  limit: number;
  status?: RunStatus;
  threadId?: string;
  agent?: string;
}

/** New runs and events written together, in one transaction, runs first. */
export interface WriteBatch {
  runs: readonly NewRun[];
  events: readonly AgentEventEnvelope[];
}

/** A run marked `INTERRUPTED`, and the terminal event stored for it. */
export interface InterruptedRun {
  userId: string;
  event: AgentEventEnvelope;
}

/** Which running runs to mark `INTERRUPTED`. */
export type InterruptScope =
  | { kind: 'all' }
  | { kind: 'lease-expired'; now: Date }
  | { kind: 'node'; nodeId: string };

/**
 * Durable runs and events. One implementation serves SQLite and PostgreSQL; tests use the same
 * contract against both.
 */
export interface RunStore {
  /** Creates the schema or brings it up to date. */
  migrate(): Promise<void>;
  createRun(run: NewRun): Promise<void>;
  /** Removes a run that never started (refused after it was stored); its events too. */
  deleteRun(runId: string): Promise<void>;
  /**
   * Stores events in the given order. A terminal event also finishes its run (status, result or
   * error, finish time) in the same transaction.
   */
  appendEvents(events: readonly AgentEventEnvelope[]): Promise<void>;
  /**
   * Writes new runs, then events (as {@link appendEvents} does), in one transaction. Both are
   * idempotent, so a batch that failed can be written again.
   */
  write(batch: WriteBatch): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** A user's runs, newest first. */
  listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]>;
  /** Stored events with `seq > afterSeq`, in order. */
  getEvents(runId: string, afterSeq: number, limit?: number): Promise<AgentEventEnvelope[]>;
  countRunning(userId: string): Promise<number>;
  /** Renews the lease of a node's running runs. */
  renewLeases(nodeId: string, leaseUntil: Date): Promise<void>;
  /**
   * Marks running runs `failed` and stores their terminal `agent_error` code `INTERRUPTED`.
   * Returns the terminal events it stored, with the user each run belongs to.
   */
  interruptRuns(scope: InterruptScope): Promise<InterruptedRun[]>;
  /** Answers when the database does. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
