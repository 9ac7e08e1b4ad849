import type { Generated } from 'kysely';

/** Table `runs`. Times are ISO-8601 strings, which sort correctly in both databases. */
export interface RunsTable {
  run_id: string;
  thread_id: string;
  user_id: string;
  agent: string;
  status: string;
  input: string;
  result: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  node_id: string;
  lease_until: string;
  /** Order of the run on its thread (1, 2, … per user and thread; 0 for runs that started a new thread). */
  thread_seq: number;
  /** The idempotency key the run was started with (unique per user among runs that have one). */
  idempotency_key: string | null;
  /** The fingerprint of the request that started it with that key (see `IdempotentRun`). */
  idempotency_fingerprint: string | null;
  /** 1 when the run's agent is durable (recovery resumes the run instead of failing it). */
  durable: number;
  /** The W3C trace context the run continues; null when it has none (or tracing was off). */
  traceparent?: string | null;
  /** Tokens of the run's model calls; null while it has called none. */
  input_tokens?: number | string | null;
  output_tokens?: number | string | null;
}

/** Table `run_steps`: the journal of durable runs, one row per recorded step. */
export interface RunStepsTable {
  run_id: string;
  name: string;
  seq: number;
  thinking_step: number;
  /** JSON; null when the step resolved `undefined` or failed. */
  result: string | null;
  /** JSON `{ name, message }` of the final error. */
  error: string | null;
}

/** Table `events`: each envelope, serialized once, keyed by `(run_id, seq)`. */
export interface EventsTable {
  run_id: string;
  seq: number;
  type: string;
  envelope: string;
}

/** Table `usage_daily`: a user's model tokens of one UTC day, per agent and model. */
export interface UsageDailyTable {
  user_id: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  agent: string;
  model: string;
  input_tokens: number | string;
  output_tokens: number | string;
  /** Runs that called this model that day. */
  runs: number | string;
}

export interface PipelineDatabase {
  runs: RunsTable;
  events: EventsTable;
  run_steps: RunStepsTable;
  usage_daily: UsageDailyTable;
  kysely_migration?: { name: Generated<string> };
}
