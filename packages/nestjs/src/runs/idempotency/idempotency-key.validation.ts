import { IDEMPOTENCY_KEY_MAX_LENGTH, isIdempotencyKey } from '@agent-pipeline/protocol';
import { PipelineError } from '../../errors/pipeline.error';

/**
 * Throws `VALIDATION_FAILED` unless `key` is absent or 1–255 printable ASCII characters; `field`
 * is how the caller sent it (`idempotencyKey`, the `Idempotency-Key` header, AG-UI's `runId`).
 */
export function checkIdempotencyKey(key: unknown, field = 'idempotencyKey'): void {
  if (key === undefined || isIdempotencyKey(key)) return;
  const problem = `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`;
  throw new PipelineError('VALIDATION_FAILED', `Invalid ${field}: it ${problem} (it is the start's idempotency key).`, {
    fields: [{ field, errors: [problem] }],
  });
}
