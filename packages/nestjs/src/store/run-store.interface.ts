import type { AgentEventDataMap, AgentEventEnvelope, RunStatus, RunUsage, UsageDay } from '@agent-pipeline/protocol';
import type { StepRecord } from '../durable/durable-step.types';

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
  /** Tokens of the run's model calls; absent for a run that called none. */
  usage?: RunUsage;
  /** The W3C trace context the run continues, when it has one. */
  traceparent?: string;
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
  /** `running` unless said; a `queued` run waits on its thread (see {@link RunStore.withThread}). */
  status?: 'queued' | 'running';
  /** Order on the thread; set by {@link ThreadTransaction.insert}. @default 0 */
  threadSeq?: number;
  /** The idempotency key of the start, with its request's fingerprint; stored with the run. */
  idempotency?: IdempotencyClaim;
  /** Its agent is durable: recovery resumes the run instead of failing it. @default false */
  durable?: boolean;
  /** The W3C trace context the run continues (see `RunTracer.capture`). */
  traceparent?: string;
}

/** An idempotency key a new run claims for its user, and the fingerprint of its request. */
export interface IdempotencyClaim {
  key: string;
  fingerprint: string;
}

/** The run an idempotency key of a user names, and the fingerprint of the request that started it. */
export interface IdempotentRun {
  runId: string;
  threadId: string;
  /** The run's status now. */
  status: RunStatus;
  fingerprint: string;
}

/** One model call's tokens, as {@link RunStore.recordUsage} adds them. */
export interface UsageEntry {
  runId: string;
  userId: string;
  agent: string;
  model: string;
  /** The UTC day of the call, `YYYY-MM-DD`. */
  day: string;
  inputTokens: number;
  outputTokens: number;
  /** The run's first call of this model on this day: it counts in that day's `runs`. */
  newRun: boolean;
}

/** A run in flight on a thread, as the thread's multitask policy sees it. */
export interface ThreadRun {
  runId: string;
  agent: string;
  status: RunStatus;
  /** Order on the thread: lower first. */
  threadSeq: number;
  /** The node executing it (for a queued run: the node that admitted it). */
  nodeId: string;
  createdAt: string;
}

/** A thread that has queued runs and nothing executing: its first queued run may start. */
export interface ReadyThread {
  userId: string;
  threadId: string;
}

/**
 * The reads and writes of one thread inside {@link RunStore.withThread}: they see each other's
 * effects, and no other `withThread` of the same user runs in between, on any node.
 */
export interface ThreadTransaction {
  /** The thread's runs in flight (queued or executing), in thread order. */
  inFlight(): Promise<ThreadRun[]>;
  /** The user's runs executing on any node (all threads). */
  countExecuting(): Promise<number>;
  /**
   * The run the user's idempotency `key` names, if it was created at or after `freshAfter`; a run
   * holding the key from before that gives it up here (its key is cleared), so it can be claimed.
   */
  idempotentRun(key: string, freshAfter: Date): Promise<IdempotentRun | undefined>;
  /** Stores `run` as the last of the thread (its `threadSeq` is assigned here); returns that seq. */
  insert(run: NewRun): Promise<number>;
  /** Turns a queued run into a running one on `nodeId`; false when it is no longer queued. */
  claim(runId: string, nodeId: string, leaseUntil: Date): Promise<boolean>;
  /** See {@link RunStore.cancelQueued}. */
  cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined>;
  /** Deletes every run of the thread and their events; returns how many runs there were. */
  deleteAll(): Promise<number>;
}

/** A queued run ended without starting, and its one stored event. */
export interface CancelledQueuedRun {
  userId: string;
  event: AgentEventEnvelope<'agent_cancelled'>;
}

/**
 * A position in a newest-first listing: the `(createdAt, runId)` of the last row of a page. The
 * next page holds what sorts strictly after it, so rows inserted meanwhile (always newer) never
 * shift a page: no row is skipped or served twice.
 */
export interface ListCursor {
  createdAt: string;
  runId: string;
}

/** A page of a user's runs (`GET /runs`): how many, which status or thread, before which cursor. */
export interface ListRunsQuery {
  limit: number;
  status?: RunStatus;
  threadId?: string;
  agent?: string;
  /** Only runs that sort after this position (older, or as old with a smaller id). */
  before?: ListCursor;
}

/** One thread of a user, as `GET /threads` lists it. */
export interface ThreadSummary {
  threadId: string;
  /** The input of the thread's first run (for its title). */
  firstInput: unknown;
  /** The agent of the thread's latest run. */
  agent: string;
  /** How many runs the thread holds. */
  runs: number;
  /** When the latest run was created. */
  lastRunAt: string;
  lastStatus: RunStatus;
  /** The latest run: with `lastRunAt`, the thread's position in the listing. */
  lastRunId: string;
}

export interface ListThreadsQuery {
  limit: number;
  /** Only threads whose latest run sorts after this position. */
  before?: ListCursor;
}

/** What one pass of {@link RunStore.pruneFinishedRuns} did. */
export interface PruneBatch {
  /** Runs deleted (with their events). */
  deleted: number;
  /** True when another node holds the retention lock: this node leaves the work to it. */
  lockedElsewhere?: boolean;
}

/** New runs and events written together, in one transaction, runs first. */
export interface WriteBatch {
  runs: readonly NewRun[];
  events: readonly AgentEventEnvelope[];
  /** Steps of durable runs, recorded with the events (a step already recorded is kept as it was). */
  steps?: readonly StepRecord[];
}

/** A durable run still executing in the store (`running` or `waiting`), which recovery may resume. */
export interface ResumableRun {
  runId: string;
  threadId: string;
  userId: string;
  agent: string;
  status: 'running' | 'waiting';
  input: unknown;
  createdAt: string;
  /** The node that held it, and its lease as read: a claim succeeds only if both are unchanged. */
  nodeId: string;
  leaseUntil: string;
  /** The W3C trace context the run continues: a resumed run stays in its caller's trace. */
  traceparent?: string;
}

/** Which durable runs to list for resuming. */
export type ResumeScope = { kind: 'all' } | { kind: 'lease-expired'; now: Date } | { kind: 'run'; runId: string };

/** A terminal event that ends a run no node executes (see {@link RunStore.endRun}). */
export type OrphanEnding =
  { type: 'agent_cancelled'; data: AgentEventDataMap['agent_cancelled'] } | { type: 'agent_error'; data: AgentEventDataMap['agent_error'] };

/** The lease a node gives back when it stops without ending a durable run: any node may take the run at once. */
export const RELEASED_LEASE = '1970-01-01T00:00:00.000Z';

/** A run marked `INTERRUPTED`, and the terminal event stored for it. */
export interface InterruptedRun {
  userId: string;
  event: AgentEventEnvelope;
}

/** Which running runs to mark `INTERRUPTED`. */
export type InterruptScope = { kind: 'all' } | { kind: 'lease-expired'; now: Date } | { kind: 'node'; nodeId: string };

/**
 * Durable runs and events. One implementation serves SQLite and PostgreSQL; tests use the same
 * contract against both.
 */
export interface RunStore {
  /** Creates the schema or brings it up to date. */
  migrate(): Promise<void>;
  createRun(run: NewRun): Promise<void>;
  /**
   * Stores `run`, which claims its user's idempotency key, unless the key names a run created at
   * or after `freshAfter`: that run is returned instead and nothing is stored. An older holder
   * gives the key up. Serialized with {@link withThread} of the same user, on one node or several.
   */
  createIdempotentRun(run: NewRun & { idempotency: IdempotencyClaim }, freshAfter: Date): Promise<IdempotentRun | undefined>;
  /** The run the user's idempotency `key` names, if it was created at or after `freshAfter` (a plain read). */
  findIdempotentRun(userId: string, key: string, freshAfter: Date): Promise<IdempotentRun | undefined>;
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
  /** A user's runs, newest first (then by run id, descending). */
  listRuns(userId: string, query: ListRunsQuery): Promise<RunRecord[]>;
  /** A user's threads, the one with the latest run first (then by that run's id, descending). */
  listThreads(userId: string, query: ListThreadsQuery): Promise<ThreadSummary[]>;
  /** The runs of a user's thread, oldest first; empty when the user has no run on it. */
  threadRuns(userId: string, threadId: string): Promise<RunRecord[]>;
  /**
   * Deletes up to `limit` runs that finished before `finishedBefore`, with their events, in one
   * short transaction. On PostgreSQL only one node prunes at a time (an advisory lock).
   */
  pruneFinishedRuns(finishedBefore: Date, limit: number): Promise<PruneBatch>;
  /**
   * Gives the space of deleted rows back to the file system, at most `maxPages` pages per call
   * (SQLite files with incremental auto-vacuum); resolves the pages freed. A no-op elsewhere.
   */
  reclaimSpace(maxPages: number): Promise<number>;
  /** Stored events with `seq > afterSeq`, in order. */
  getEvents(runId: string, afterSeq: number, limit?: number): Promise<AgentEventEnvelope[]>;
  /** A run's stored events of one type, in order (the interrupts of a run, say). */
  getEventsOfType(runId: string, type: AgentEventEnvelope['type']): Promise<AgentEventEnvelope[]>;
  /** The user's runs executing on any node (`running` or `waiting`). */
  countRunning(userId: string): Promise<number>;
  /** Renews the lease of a node's executing runs (`running` or `waiting`). */
  renewLeases(nodeId: string, leaseUntil: Date): Promise<void>;
  /**
   * Marks executing runs (`running` or `waiting`) of agents that are not durable `failed` and stores their terminal
   * `agent_error` code `INTERRUPTED`. Returns the terminal events it stored, with the user each run belongs to.
   */
  interruptRuns(scope: InterruptScope): Promise<InterruptedRun[]>;
  /** Durable runs still executing (`running` or `waiting`) in the scope, oldest first. */
  resumableRuns(scope: ResumeScope): Promise<ResumableRun[]>;
  /**
   * Takes a durable run for `nodeId` with a fresh lease, if its node and lease are still those of
   * `run` (so of nodes racing for it exactly one wins) and it still executes. True when taken.
   */
  claimRun(run: Pick<ResumableRun, 'runId' | 'nodeId' | 'leaseUntil'>, nodeId: string, leaseUntil: Date): Promise<boolean>;
  /** Gives back the leases of these runs of `nodeId` ({@link RELEASED_LEASE}): another node may take them at once. */
  releaseLeases(nodeId: string, runIds: readonly string[]): Promise<void>;
  /**
   * Ends an executing run held by `nodeId` (a node that is gone, or this node before it resumes
   * the run) with `ending` stored after its last event; undefined when it no longer executes
   * there (it ended, or another node took it).
   */
  endRun(runId: string, nodeId: string, ending: OrphanEnding): Promise<InterruptedRun | undefined>;
  /** The recorded steps of a run. */
  getSteps(runId: string): Promise<StepRecord[]>;
  /**
   * Runs `work` in one transaction over the thread `(userId, threadId)`. Transactions of the same
   * user never overlap, on one node or several (PostgreSQL: an advisory lock per user; SQLite: its
   * one writer), so two starts on one thread come out in a defined order.
   */
  withThread<T>(userId: string, threadId: string, work: (tx: ThreadTransaction) => Promise<T>): Promise<T>;
  /**
   * Ends a queued run without starting it: status `cancelled`, and its only event, `agent_cancelled`
   * at seq 1, stored. Undefined when the run is not (or no longer) queued.
   */
  cancelQueued(runId: string, reason: string): Promise<CancelledQueuedRun | undefined>;
  /** The thread's runs in flight, in thread order (a plain read, for queue positions). */
  threadInFlight(userId: string, threadId: string): Promise<ThreadRun[]>;
  /** Threads with queued runs and no run executing, oldest queue first, at most `limit`. */
  readyThreads(limit: number): Promise<ReadyThread[]>;
  /** Queued runs of every user and thread. */
  countQueued(): Promise<number>;
  /** Adds one model call's tokens to its run and to its user's usage of the day, in one transaction. */
  recordUsage(entry: UsageEntry): Promise<void>;
  /** A user's usage per day (`from` to `to`, inclusive, `YYYY-MM-DD`), agent and model: oldest day first, then agent, model. */
  usageDays(userId: string, from: string, to: string): Promise<UsageDay[]>;
  /** A user's input + output tokens of one UTC day, over every agent and model. */
  tokensUsedOn(userId: string, day: string): Promise<number>;
  /** Answers when the database does. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
