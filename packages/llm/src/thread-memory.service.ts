import { Inject, Injectable } from '@nestjs/common';
import { RUN_STORE, type RunRecord, type RunStore } from '@agent-pipeline/nestjs';

/** One earlier message of a thread. */
export interface MemoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** Which conversation to remember. */
export interface ThreadMemoryQuery {
  userId: string;
  threadId: string;
  /** Only runs of this agent count: other agents' inputs and results are not conversation turns. */
  agent: string;
  /** The run asking, left out even if it is already stored as finished. */
  runId: string;
  /** At most this many messages, the newest ones. */
  limit: number;
}

/**
 * The conversation so far, rebuilt from the run store: each earlier completed run of the same
 * user, thread and agent contributes its input text as a user message and its result text as
 * the assistant's reply. Failed and cancelled runs are left out (their question has no answer),
 * as are runs still going. Reading the store (not a cache) means every node of a cluster sees
 * the same memory.
 */
@Injectable()
export class ThreadMemory {
  constructor(@Inject(RUN_STORE) private readonly store: RunStore) {}

  /** The newest `limit` messages of the thread, oldest first; it never starts with an assistant reply. */
  async history(query: ThreadMemoryQuery): Promise<MemoryMessage[]> {
    if (query.limit <= 0) return [];
    // Two messages per run, plus one in case the asking run shows up in the list.
    const runs = await this.store.listRuns(query.userId, {
      threadId: query.threadId,
      agent: query.agent,
      status: 'completed',
      limit: Math.ceil(query.limit / 2) + 1,
    });
    const messages = runs
      .filter((run) => run.runId !== query.runId && run.userId === query.userId && run.threadId === query.threadId)
      .reverse()
      .flatMap(toMessages)
      .slice(-query.limit);
    // Cut to the limit, the oldest message may be a reply whose question fell off: drop it too.
    return messages[0]?.role === 'assistant' ? messages.slice(1) : messages;
  }
}

function toMessages(run: RunRecord): MemoryMessage[] {
  const input = run.input as { text?: unknown } | null;
  if (typeof input?.text !== 'string' || typeof run.result !== 'string') return [];
  return [
    { role: 'user', content: input.text },
    { role: 'assistant', content: run.result },
  ];
}
