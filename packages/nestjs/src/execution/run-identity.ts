import { v7 as uuidv7 } from 'uuid';

/** The ids of one run. */
export interface RunIdentity {
  runId: string;
  threadId: string;
}

/**
 * The one place run ids are made. A caller's thread id is kept as it is; otherwise the run
 * starts a new thread.
 *
 * Ids are UUIDv7: time-ordered, so the store's keys and indexes grow at their end instead of at
 * random pages. With random (v4) ids every stored run dirtied pages all over the B-trees, which
 * made SQLite's writes about twice as expensive and grew with the database.
 */
export function newRunIdentity(threadId?: string): RunIdentity {
  return { runId: uuidv7(), threadId: threadId ?? uuidv7() };
}
