import { Logger } from '@nestjs/common';
import { PipelineError, toPipelineError } from '../../errors/pipeline.error';
import type { ErrorBody } from '@agent-pipeline/protocol';

const logger = new Logger('SocketCommand');

/** A command's acknowledgement. */
export type AckResponse = ({ ok: true } & Record<string, unknown>) | { ok: false; error: ErrorBody };

/**
 * Runs a command and always resolves to exactly one ack: `{ ok: true, ...result }` or
 * `{ ok: false, error }`. Nothing thrown inside escapes as an `exception` event.
 */
export async function toAck(command: string, work: () => Promise<Record<string, unknown>> | Record<string, unknown>): Promise<AckResponse> {
  try {
    return { ok: true, ...(await work()) };
  } catch (err) {
    if (!(err instanceof PipelineError)) logger.error(`${command} failed: ${(err as Error)?.stack ?? String(err)}`);
    return { ok: false, error: toPipelineError(err).toBody() };
  }
}
