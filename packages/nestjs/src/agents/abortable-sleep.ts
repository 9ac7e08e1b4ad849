/**
 * Waits `ms` milliseconds, or one turn of the event loop when `ms` is 0 (so a loop of zero-length
 * waits still lets a cancel in). Rejects with an `AbortError` the moment `signal` aborts, and clears
 * its timer so nothing lingers after a cancel.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const finish = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const clear = ms > 0 ? clearTimeout.bind(null, setTimeout(finish, ms)) : clearImmediate.bind(null, setImmediate(finish));
    const onAbort = (): void => {
      clear();
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws an `AbortError` if `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

/** The pipeline aborts with a plain reason string; wrap it so callers always get an `Error`. */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const error = new Error(`Aborted: ${reason instanceof Error ? reason.message : String(reason)}`);
  error.name = 'AbortError';
  return error;
}
