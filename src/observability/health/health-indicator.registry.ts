import { Injectable } from '@nestjs/common';
import type { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * The checks behind `GET /health`. Each dependency the server needs registers one here at start
 * (the run store always; Redis when `REDIS_URL` is set), so the health route never has to know
 * which dependencies exist. Keys must be unique: they name the entries of the health answer.
 */
@Injectable()
export class HealthIndicatorRegistry {
  private readonly checks = new Map<string, HealthIndicatorFunction>();

  /** Adds the check reported under `key`. */
  register(key: string, check: HealthIndicatorFunction): void {
    if (this.checks.has(key)) {
      throw new Error(`A health check named '${key}' is already registered; give the new one another key.`);
    }
    this.checks.set(key, check);
  }

  /** Every registered check, in registration order. */
  all(): HealthIndicatorFunction[] {
    return [...this.checks.values()];
  }
}
