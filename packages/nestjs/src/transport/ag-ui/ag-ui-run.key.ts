import { createHash } from 'node:crypto';

/**
 * The idempotency key of an AG-UI start: the request's `runId` on its thread. AG-UI clients make
 * a `runId` per request, so the same one again on the same thread is a repeat of that request,
 * while the same `runId` on another thread is a request of its own. Hashed, so that any `runId`
 * (up to 256 characters of anything) and thread id fit a key, and apart from the keys the
 * user's own `run:start` and `POST /runs` calls choose.
 */
export function agUiRunKey(threadId: string, runId: string): string {
  return `ag-ui:${createHash('sha256')
    .update(JSON.stringify([threadId, runId]))
    .digest('base64url')}`;
}
