import type { RunStatus } from './agent-event.types';

/**
 * One of a user's threads, as `GET /threads` lists it. Shared with clients: no server-only
 * imports here.
 */
export interface ThreadInfo {
  threadId: string;
  /** The start of the thread's first input text (at most 80 characters). */
  title: string;
  /** The agent of the thread's latest run. */
  agent: string;
  /** How many runs the thread holds. */
  runs: number;
  /** When the thread's latest run was created. */
  lastRunAt: string;
  /** The status of the thread's latest run. */
  lastStatus: RunStatus;
}
