import { PipelineError } from '../errors/pipeline.error';
import type { ListCursor } from './run-store.interface';

/**
 * The opaque `next` / `before` strings of paged listings: base64url of `[createdAt, runId]`.
 * Opaque so that clients pass them back unchanged and the keyset can change without breaking them.
 */
export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.runId])).toString('base64url');
}

/** The position a `before` string names; `VALIDATION_FAILED` for anything not made by {@link encodeCursor}. */
export function decodeCursor(value: string): ListCursor {
  let parsed: unknown;
  try {
    parsed = value.length <= 512 ? JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === 'string' &&
    typeof parsed[1] === 'string' &&
    !Number.isNaN(Date.parse(parsed[0]))
  ) {
    return { createdAt: parsed[0], runId: parsed[1] };
  }
  const message = 'before must be the `next` value of a previous page (or left out for the first page)';
  throw new PipelineError('VALIDATION_FAILED', `Invalid query: ${message}.`, { fields: [{ field: 'before', errors: [message] }] });
}

/** One page of a listing and the cursor of the next one (`null` on the last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * Cuts `rows` (read with `limit + 1`, so the extra row tells whether more follow) into a page of
 * `limit` and the cursor of its last row.
 */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => ListCursor): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(cursorOf(items[items.length - 1])) };
}
