import OpenAI from 'openai';

/** Why a model call failed, phrased for the user of the run (`agent_error` message); never holds the API key. */
export class LlmProviderError extends Error {
  override readonly name = 'LlmProviderError';
}

/** The provider stayed silent for `LLM_TIMEOUT_MS`. */
export class LlmTimeoutError extends Error {
  override readonly name = 'LlmTimeoutError';
}

/** The stream ended (connection closed, `[DONE]`) before any choice reported a finish reason. */
export class LlmStreamIncompleteError extends Error {
  override readonly name = 'LlmStreamIncompleteError';
}

/** What {@link describeProviderError} needs to say where and what failed. */
export interface ProviderErrorContext {
  baseUrl: string;
  model: string;
  apiKey?: string;
  timeoutMs: number;
  /** Requests made for this step, retries included. */
  attempts: number;
}

/** Largest `Retry-After` honoured; a longer one falls back to exponential backoff. */
export const MAX_RETRY_AFTER_MS = 30_000;
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8_000;
const MAX_DETAIL_CHARS = 500;

/**
 * True for failures that another attempt may fix: 408, 409, 429 and 5xx answers and connection
 * errors. A timeout is not retried: LLM_TIMEOUT_MS already says how long the user should wait.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof OpenAI.APIUserAbortError || err instanceof OpenAI.APIConnectionTimeoutError) return false;
  if (err instanceof OpenAI.APIConnectionError) return true;
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    return err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500;
  }
  return false;
}

/** The wait the provider asked for (`retry-after-ms`, or `Retry-After` in seconds or as a date), if any. */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  if (!(err instanceof OpenAI.APIError) || !err.headers) return undefined;
  const ms = Number.parseFloat(err.headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return ms;
  const header = err.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * How long to wait before retry number `retry` (0-based): what the provider asked for when it
 * is at most {@link MAX_RETRY_AFTER_MS}, else 0.5 s doubling per retry up to 8 s, minus up to 25 %
 * jitter so that many runs refused together do not come back together.
 */
export function backoffMs(retry: number, requested?: number, random: () => number = Math.random): number {
  if (requested !== undefined && requested >= 0 && requested <= MAX_RETRY_AFTER_MS) return requested;
  return Math.min(INITIAL_BACKOFF_MS * 2 ** retry, MAX_BACKOFF_MS) * (1 - 0.25 * random());
}

/**
 * Turns any failure of a model call into a {@link LlmProviderError} whose message says what went
 * wrong and which setting to check. The provider's own words are kept (shortened) except for
 * 401, whose body tends to quote the key; the API key itself is removed from whatever is left.
 */
export function describeProviderError(err: unknown, context: ProviderErrorContext): LlmProviderError {
  const where = `the model provider at ${displayUrl(context.baseUrl)}`;
  const after = context.attempts > 1 ? ` after ${context.attempts} attempts` : '';
  const detail = providerDetail(err);
  let message: string;
  if (err instanceof LlmTimeoutError || err instanceof OpenAI.APIConnectionTimeoutError) {
    message = `${capitalize(where)} sent nothing for ${context.timeoutMs} ms (LLM_TIMEOUT_MS); the request was abandoned.`;
  } else if (err instanceof OpenAI.APIConnectionError) {
    const cause = errorCause(err);
    message = `Could not reach ${where}${after}${cause ? `: ${cause}` : ''}. Check LLM_BASE_URL and that the server is running.`;
  } else if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 401) {
      message = `${capitalize(where)} refused the API key (401 Unauthorized). Check LLM_API_KEY.`;
    } else if (status === 403) {
      message = `${capitalize(where)} denied access (403 Forbidden): ${detail}. Check that LLM_API_KEY may use model '${context.model}'.`;
    } else if (status === 404) {
      message =
        `${capitalize(where)} answered 404 Not Found for model '${context.model}': ${detail}. ` +
        'Check LLM_MODEL, and that LLM_BASE_URL includes the API version path (usually /v1).';
    } else if (status === 429) {
      message = `${capitalize(where)} is rate limiting requests (429 Too Many Requests)${after}: ${detail}.`;
    } else if (status >= 500) {
      message = `${capitalize(where)} failed with ${status}${after}: ${detail}.`;
    } else {
      message = `${capitalize(where)} rejected the request (${status}): ${detail}.`;
    }
  } else if (err instanceof OpenAI.APIError) {
    message = `${capitalize(where)} reported an error while streaming: ${detail}.`;
  } else if (err instanceof SyntaxError) {
    message = `${capitalize(where)} sent a malformed stream chunk (not JSON): ${detail}.`;
  } else if (err instanceof LlmStreamIncompleteError) {
    message = `${capitalize(where)} ended the stream before the answer was complete (no finish_reason).`;
  } else {
    message = `The call to ${where} failed: ${detail}.`;
  }
  return new LlmProviderError(redact(message, context.apiKey));
}

/** The base URL without credentials, query or fragment, which could hold secrets. */
export function displayUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  } catch {
    return '(LLM_BASE_URL)';
  }
}

function providerDetail(err: unknown): string {
  let text: string;
  if (err instanceof OpenAI.APIError) {
    const body = err.error as { message?: unknown } | undefined;
    text = typeof body?.message === 'string' && body.message ? body.message : err.message.replace(/^\d{3}\s+/, '') || 'no details given';
  } else {
    text = err instanceof Error ? err.message || err.name : String(err);
  }
  text = text.trim().replace(/[.\s]+$/, '');
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;
}

/**
 * undici hides the reason (ECONNREFUSED, DNS, TLS) two `cause`s deep. Duck-typed: those errors
 * may come from another realm, where `instanceof Error` is false.
 */
function errorCause(err: Error): string | undefined {
  let cause = err.cause as { message?: unknown; cause?: unknown } | undefined;
  let last: string | undefined;
  for (let depth = 0; cause && typeof cause === 'object' && depth < 4; depth++) {
    if (typeof cause.message === 'string' && cause.message) last = cause.message;
    cause = cause.cause as typeof cause;
  }
  return last;
}

function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
