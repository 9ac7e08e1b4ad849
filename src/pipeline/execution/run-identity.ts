import { randomUUID } from 'node:crypto';

/** The ids of one run. */
export interface RunIdentity {
  runId: string;
  threadId: string;
}

/**
 * The one place run ids are made. A caller's thread id is kept as it is; otherwise the run
 * starts a new thread.
 */
export function newRunIdentity(threadId?: string): RunIdentity {
  return { runId: randomUUID(), threadId: threadId ?? randomUUID() };
}
