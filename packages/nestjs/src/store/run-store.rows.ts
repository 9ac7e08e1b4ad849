import { type AgentEventEnvelope, statusForTerminal, type TerminalEventType } from '@agent-pipeline/protocol';
import type { NewRun } from './run-store.interface';
import type { RunStepsTable, RunsTable } from './run-store.schema';
import type { StepRecord } from '../durable/durable-step.types';

/** The columns a terminal event writes into its run's row. */
export type RunOutcomeColumns = Pick<RunsTable, 'status' | 'result' | 'error' | 'finished_at'>;

/** What a terminal event (of type `type`) makes of its run's row: status, result or error, finish time. */
export function outcomeColumns(type: TerminalEventType, event: AgentEventEnvelope): RunOutcomeColumns {
  const data = event.data as { result?: unknown; code?: string; message?: string };
  return {
    status: statusForTerminal(type),
    result: type === 'agent_completed' ? JSON.stringify(data.result ?? null) : null,
    error: type === 'agent_error' ? JSON.stringify({ code: data.code, message: data.message }) : null,
    finished_at: event.ts,
  };
}

/**
 * A new run's row: `run.status` (running unless said), or already finished with `outcome` when
 * its ending is known.
 */
export function runRow(run: NewRun, outcome?: RunOutcomeColumns): RunsTable {
  return {
    run_id: run.runId,
    thread_id: run.threadId,
    user_id: run.userId,
    agent: run.agent,
    input: JSON.stringify(run.input ?? null),
    created_at: run.createdAt.toISOString(),
    node_id: run.nodeId,
    lease_until: run.leaseUntil.toISOString(),
    thread_seq: run.threadSeq ?? 0,
    durable: run.durable ? 1 : 0,
    traceparent: run.traceparent ?? null,
    status: outcome?.status ?? run.status ?? 'running',
    result: outcome?.result ?? null,
    error: outcome?.error ?? null,
    finished_at: outcome?.finished_at ?? null,
    idempotency_key: run.idempotency?.key ?? null,
    idempotency_fingerprint: run.idempotency?.fingerprint ?? null,
  };
}

/**
 * The status change an interrupt event makes: `interrupt_requested` turns a running run
 * `waiting`, `interrupt_resolved` turns it `running` again; undefined for any other event.
 */
export function waitingTransition(type: string): { from: 'running' | 'waiting'; to: 'running' | 'waiting' } | undefined {
  if (type === 'interrupt_requested') return { from: 'running', to: 'waiting' };
  if (type === 'interrupt_resolved') return { from: 'waiting', to: 'running' };
  return undefined;
}

/** A recorded step's row. */
export function stepRow(step: StepRecord): RunStepsTable {
  return {
    run_id: step.runId,
    name: step.name,
    seq: step.seq,
    thinking_step: step.thinkingStep,
    result: step.result ?? null,
    error: step.error ? JSON.stringify(step.error) : null,
  };
}

/** A recorded step from its row. */
export function stepFromRow(row: RunStepsTable): StepRecord {
  const step: StepRecord = { runId: row.run_id, name: row.name, seq: Number(row.seq), thinkingStep: Number(row.thinking_step) };
  if (row.result !== null) step.result = row.result;
  if (row.error !== null) step.error = JSON.parse(row.error) as StepRecord['error'];
  return step;
}
