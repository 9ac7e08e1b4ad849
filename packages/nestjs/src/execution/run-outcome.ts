import type { AgentErrorCode } from '@agent-pipeline/protocol';

/** How a run ended; `completeExecution` turns it into the run's one terminal event. */
export type RunOutcome =
  | { kind: 'completed'; result: unknown; extra?: Record<string, unknown> }
  | { kind: 'error'; code: AgentErrorCode; message: string }
  | { kind: 'cancelled'; reason: string };
