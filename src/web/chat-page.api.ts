/**
 * The HTTP calls of the chat page: `GET /auth/config`, the development token route, `GET /agents`, `GET /runs`
 * and the threads routes (`GET /threads`, `GET /threads/:threadId`, `DELETE /threads/:threadId`).
 * Each answers `undefined` when the server does not offer the route (older servers, or the HTTP
 * API disabled), so the page can fall back to the socket.
 */
import type { RunStatus, AgentInfo, ThreadInfo } from '@agent-pipeline/protocol';

/** A past run as `GET /runs` lists it (the fields the page shows). */
export interface RunSummary {
  runId: string;
  threadId?: string;
  agent: string;
  status: RunStatus;
  input?: unknown;
  result?: unknown;
  error?: { code: string; message: string };
  createdAt?: string;
}

/** The outcome of asking for a development token. */
export type DevTokenOutcome = { token: string } | { unavailable: true; message: string } | { refused: true; message: string };

/** `GET /auth/config`: whether the server runs development auth; `undefined` when it does not say (older servers). */
export async function fetchDevAuth(): Promise<boolean | undefined> {
  try {
    const res = await fetch('auth/config', { headers: { Accept: 'application/json' } });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { devAuth?: unknown };
    return typeof body.devAuth === 'boolean' ? body.devAuth : undefined;
  } catch {
    return undefined;
  }
}

/** What the page says to someone who types a user name on a server without development auth. */
export const NO_DEV_TOKENS_MESSAGE =
  'This server does not hand out development tokens (it verifies tokens of an identity provider or a configured secret): paste an access token instead.';

/** `POST /auth/dev-token`: a token for `userId` on a development server; 404 = development auth is off. */
export async function requestDevToken(userId: string): Promise<DevTokenOutcome> {
  const res = await fetch('auth/dev-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: unknown; message?: unknown };
  if (res.ok && typeof body.token === 'string') return { token: body.token };
  if (res.status === 404) {
    return { unavailable: true, message: NO_DEV_TOKENS_MESSAGE };
  }
  return {
    refused: true,
    message: typeof body.message === 'string' ? body.message : `The server refused the sign-in (HTTP ${res.status}).`,
  };
}

/** `GET /agents`, or `undefined` when the route is missing or fails. */
export async function fetchAgents(token: string): Promise<AgentInfo[] | undefined> {
  const body = await getJson(token, 'agents');
  const list = Array.isArray(body) ? body : (body as { agents?: unknown } | undefined)?.agents;
  return Array.isArray(list) ? list.filter((a): a is AgentInfo => typeof a?.name === 'string') : undefined;
}

/** `GET /runs?limit=`, newest first, or `undefined` when the route is missing or fails. */
export async function fetchRuns(token: string, limit: number): Promise<RunSummary[] | undefined> {
  const body = await getJson(token, `runs?limit=${limit}`);
  const list = Array.isArray(body) ? body : (body as { runs?: unknown } | undefined)?.runs;
  return Array.isArray(list)
    ? list.filter((r): r is RunSummary => typeof r?.runId === 'string' && typeof r?.agent === 'string')
    : undefined;
}

async function getJson(token: string, path: string): Promise<unknown> {
  try {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    if (!res.ok) return undefined;
    return await res.json();
  } catch {
    return undefined;
  }
}

/** A conversation as `GET /threads` lists it. */
/** One of the user's threads, as `GET /threads` lists it. */
export type ThreadSummary = ThreadInfo;

/** `GET /threads?limit=`, most recently active first, or `undefined` when the route is missing or fails. */
export async function fetchThreads(token: string, limit: number): Promise<ThreadSummary[] | undefined> {
  const body = (await getJson(token, `threads?limit=${limit}`)) as { threads?: unknown } | undefined;
  return Array.isArray(body?.threads)
    ? body.threads.filter((t): t is ThreadSummary => typeof t?.threadId === 'string' && typeof t?.title === 'string')
    : undefined;
}

/** `GET /threads/:threadId`: the thread's runs, oldest first; `undefined` when it is gone (or the route is missing). */
export async function fetchThread(token: string, threadId: string): Promise<RunSummary[] | undefined> {
  const body = (await getJson(token, `threads/${encodeURIComponent(threadId)}`)) as { runs?: unknown } | undefined;
  return Array.isArray(body?.runs) ? body.runs.filter((r): r is RunSummary => typeof r?.runId === 'string') : undefined;
}

/** `DELETE /threads/:threadId`: `ok`, or the server's error (`THREAD_BUSY`, `THREAD_NOT_FOUND`, …). */
export async function deleteThread(token: string, threadId: string): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  try {
    const res = await fetch(`threads/${encodeURIComponent(threadId)}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    if (res.status === 204) return { ok: true };
    const body = (await res.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
    return {
      ok: false,
      code: typeof body.code === 'string' ? body.code : `HTTP_${res.status}`,
      message: typeof body.message === 'string' ? body.message : `The server answered HTTP ${res.status}.`,
    };
  } catch (err) {
    return { ok: false, code: 'NETWORK', message: (err as Error).message };
  }
}
