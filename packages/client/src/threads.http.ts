import type { RunStatus, ErrorBody, InterruptRequestedData, ThreadInfo, RunUsage } from '@agent-pipeline/protocol';
import { AgentPipelineError } from './agent-pipeline.error';

/** A run as the HTTP API serves it (`GET /runs`, `GET /runs/:runId`, `GET /threads/:threadId`). */
export interface RunSnapshot {
  runId: string;
  threadId: string;
  agent: string;
  status: RunStatus;
  input: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  createdAt: string;
  finishedAt?: string;
  lastSeq: number;
  /** Tokens of the run's model calls; absent for a run that called none. */
  usage?: RunUsage;
  /** The open question (its `interrupt_requested` data) while the run is `waiting` (`GET /runs/:runId` only). */
  interrupt?: InterruptRequestedData;
}

/** A page of `GET /runs`, newest first: pass `next` as `before` for the following one (`null` on the last). */
export interface RunPage {
  runs: RunSnapshot[];
  next: string | null;
}

/** Options of {@link AgentPipelineClient.listRuns}. */
export interface ListRunsOptions {
  /** 1–100. @default 20 */
  limit?: number;
  status?: RunStatus;
  threadId?: string;
  /** The `next` of the previous page. */
  before?: string;
}

/** One of the user's threads (a conversation), as `GET /threads` lists it. */
export type ThreadEntry = ThreadInfo;

/** A page of `GET /threads`: pass `next` as `before` for the following one (`null` on the last). */
export interface ThreadPage {
  threads: ThreadEntry[];
  next: string | null;
}

/** `GET /threads/:threadId`: the thread's runs, oldest first. */
export interface ThreadWithRuns {
  threadId: string;
  runs: RunSnapshot[];
}

/** Options of {@link AgentPipelineClient.listThreads}. */
export interface ListThreadsOptions {
  /** 1–100. @default 20 */
  limit?: number;
  /** The `next` of the previous page. */
  before?: string;
}

/**
 * One call of the HTTP API with the client's bearer token; an error answer becomes an
 * {@link AgentPipelineError} with the server's code (`THREAD_NOT_FOUND`, `THREAD_BUSY`, …), and a
 * server that cannot be reached `CONNECT_FAILED`.
 */
export async function httpCall<T>(baseUrl: string, token: string, method: string, path: string): Promise<T | undefined> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    });
  } catch (err) {
    throw new AgentPipelineError('CONNECT_FAILED', `The server could not be reached: ${(err as Error).message}`);
  }
  if (res.status === 204) return undefined;
  const body = (await res.json().catch(() => undefined)) as (T & Partial<ErrorBody>) | undefined;
  if (!res.ok) throw AgentPipelineError.fromBody(body);
  return body;
}
