/** The creation time from which a run's idempotency key still names it (`IDEMPOTENCY_TTL_MS` ago). */
export function idempotencyFreshAfter(ttlMs: number, now = Date.now()): Date {
  return new Date(now - ttlMs);
}
