/** `YYYY-MM-DD` of a UTC day. */
export const UTC_DAY = /^\d{4}-\d{2}-\d{2}$/;

const DAY_MS = 86_400_000;

/** The UTC day (`YYYY-MM-DD`) of `at`. */
export function utcDay(at: Date = new Date()): string {
  return at.toISOString().slice(0, 10);
}

/** The UTC day `days` days after `day` (before, when negative). */
export function addDays(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00.000Z`) + days * DAY_MS));
}

/** Whole seconds until the current UTC day ends (at least 1): the `Retry-After` of a spent budget. */
export function secondsUntilUtcMidnight(now: Date = new Date()): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** True for a real calendar day written `YYYY-MM-DD` (not `2026-02-30`). */
export function isUtcDay(value: unknown): value is string {
  return typeof value === 'string' && UTC_DAY.test(value) && utcDay(new Date(`${value}T00:00:00.000Z`)) === value;
}
