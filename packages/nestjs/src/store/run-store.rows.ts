import { type AgentEventEnvelope, statusForTerminal, type TerminalEventType } from '@agent-pipeline/protocol';
import type { NewRun } from './run-store.interface';
import type { RunsTable } from './run-store.schema';

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
    traceparent: run.traceparent ?? null,
    status: outcome?.status ?? run.status ?? 'running',
    result: outcome?.result ?? null,
    error: outcome?.error ?? null,
    finished_at: outcome?.finished_at ?? null,
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
