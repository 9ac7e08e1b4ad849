import type { IdempotentRun } from '../../store/run-store.interface';

/**
 * Thrown inside a start when, at the moment its run was to be stored, the user's idempotency key
 * already named another run (a start on another node got there first). Never leaves the pipeline:
 * {@link IdempotentStarts} turns it into the replay of that run.
 */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly holder: IdempotentRun) {
    super(`The idempotency key already names run '${holder.runId}'.`);
    this.name = 'IdempotencyKeyTaken';
  }
}
