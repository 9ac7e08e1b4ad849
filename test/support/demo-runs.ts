/**
 * The event types of demo agent runs that several specs assert (DESIGN.md, "Demo agents"), kept
 * in one place so a change of the contract is one change here.
 */

/** An `approval` run whose question was approved: it asks, is answered, performs, completes. */
export const APPROVED_APPROVAL_RUN = [
  'agent_started',
  'agent_thinking',
  'interrupt_requested',
  'interrupt_resolved',
  'tool_executing',
  'tool_completed',
  'agent_completed',
] as const;

/**
 * The same `approval` run when its node was lost (or restarted) while it waited: the resume comes
 * right after the question, then the answer and the rest, on contiguous seqs.
 */
export const RESUMED_APPROVAL_RUN = [
  'agent_started',
  'agent_thinking',
  'interrupt_requested',
  'agent_resumed',
  'interrupt_resolved',
  'tool_executing',
  'tool_completed',
  'agent_completed',
] as const;
