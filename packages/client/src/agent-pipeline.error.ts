import { type ErrorBody, type ErrorCode, ERROR_CODES } from '@agent-pipeline/protocol';

/**
 * Codes the client raises on its own, for failures that never reach the server:
 * - `CONNECT_FAILED`: the first connection could not be made (server down, wrong URL);
 * - `DISCONNECTED`: the connection closed before a command was answered, or the client was closed;
 * - `ACK_TIMEOUT`: a command got no answer within `ackTimeoutMs`;
 * - `NOT_CONNECTED`: a command was called before `connect()`;
 * - `TOO_MANY_CONNECTIONS`: the user already holds `MAX_SOCKETS_PER_USER` sockets (first connection only;
 *   later the client keeps retrying).
 */
export type ClientErrorCode = 'CONNECT_FAILED' | 'DISCONNECTED' | 'ACK_TIMEOUT' | 'NOT_CONNECTED' | 'TOO_MANY_CONNECTIONS';

/** Every code an {@link AgentPipelineError} can carry: the contract's, then the client's own. */
export type AgentPipelineErrorCode = ErrorCode | ClientErrorCode;

/**
 * A failed command or connection, with the contract's error `code` (`UNKNOWN_AGENT`,
 * `RUN_NOT_FOUND`, `TOO_MANY_RUNS`, …) or one of the client's own ({@link ClientErrorCode}).
 */
export class AgentPipelineError extends Error {
  override readonly name = 'AgentPipelineError';

  constructor(
    readonly code: AgentPipelineErrorCode,
    message: string,
    /** The server's `details`, when it sent any (e.g. the field errors of `VALIDATION_FAILED`). */
    readonly details?: unknown,
  ) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /** The error of a failed ack (`{ ok: false, error }`); a malformed one becomes `INTERNAL`. */
  static fromBody(body: Partial<ErrorBody> | undefined): AgentPipelineError {
    const code = body && (ERROR_CODES as string[]).includes(body.code as string) ? (body.code as ErrorCode) : 'INTERNAL';
    const message = typeof body?.message === 'string' ? body.message : `The server answered with an error it did not describe (${code}).`;
    return new AgentPipelineError(code, message, body?.details);
  }
}

/** Tells whether `err` is an {@link AgentPipelineError}, optionally with one of `codes`. */
export function isAgentPipelineError(err: unknown, ...codes: AgentPipelineErrorCode[]): err is AgentPipelineError {
  return err instanceof AgentPipelineError && (codes.length === 0 || codes.includes(err.code));
}
