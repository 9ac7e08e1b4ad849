import OpenAI from 'openai';
import {
  backoffMs,
  describeProviderError,
  displayUrl,
  isRetryable,
  LlmStreamIncompleteError,
  LlmTimeoutError,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
} from './llm-provider.error';

const KEY = 'sk-live-abcdef0123456789';
const context = { baseUrl: 'https://user:pw@llm.example.com/v1/?token=t', model: 'gpt-x', apiKey: KEY, timeoutMs: 5000, attempts: 1 };

function statusError(status: number, message: string, headers: Record<string, string> = {}): ReturnType<typeof OpenAI.APIError.generate> {
  return OpenAI.APIError.generate(status, { error: { message } }, undefined, new Headers(headers));
}

describe('isRetryable', () => {
  it.each([408, 409, 429, 500, 502, 503, 529])('retries %i', (status) => expect(isRetryable(statusError(status, 'x'))).toBe(true));
  it.each([400, 401, 403, 404, 422])('does not retry %i', (status) => expect(isRetryable(statusError(status, 'x'))).toBe(false));

  it('retries connection errors but not timeouts, aborts or stream errors', () => {
    expect(isRetryable(new OpenAI.APIConnectionError({ message: 'Connection error.' }))).toBe(true);
    expect(isRetryable(new OpenAI.APIConnectionTimeoutError())).toBe(false);
    expect(isRetryable(new OpenAI.APIUserAbortError())).toBe(false);
    expect(isRetryable(new SyntaxError('Unexpected token'))).toBe(false);
    expect(isRetryable(new LlmTimeoutError())).toBe(false);
  });
});

describe('retryAfterMs and backoffMs', () => {
  it('reads retry-after-ms, then Retry-After in seconds or as a date', () => {
    expect(retryAfterMs(statusError(429, 'x', { 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(statusError(429, 'x', { 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(statusError(429, 'x', { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(statusError(429, 'x'))).toBeUndefined();
    expect(retryAfterMs(new Error('x'))).toBeUndefined();
  });

  it('honours a reasonable requested wait, else backs off exponentially with jitter up to 8 s', () => {
    expect(backoffMs(0, 0)).toBe(0);
    expect(backoffMs(3, 1200)).toBe(1200);
    expect(backoffMs(0, MAX_RETRY_AFTER_MS + 1, () => 0)).toBe(500);
    expect([0, 1, 2, 3, 4, 5].map((retry) => backoffMs(retry, undefined, () => 0))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffMs(1, undefined, () => 1)).toBe(750);
    expect(backoffMs(0, -5, () => 0)).toBe(500);
  });
});

describe('describeProviderError', () => {
  const where = 'The model provider at https://llm.example.com/v1';

  it('says what to check for each kind of failure, without the key', () => {
    const cases: [unknown, number, string][] = [
      [statusError(401, `Incorrect API key provided: ${KEY}`), 1, `${where} refused the API key (401 Unauthorized). Check LLM_API_KEY.`],
      [
        statusError(403, 'Project not allowed'),
        1,
        `${where} denied access (403 Forbidden): Project not allowed. Check that LLM_API_KEY may use model 'gpt-x'.`,
      ],
      [
        statusError(404, `The model 'gpt-x' does not exist for ${KEY}.`),
        1,
        `${where} answered 404 Not Found for model 'gpt-x': The model 'gpt-x' does not exist for [redacted]. ` +
          'Check LLM_MODEL, and that LLM_BASE_URL includes the API version path (usually /v1).',
      ],
      [statusError(429, 'Slow down'), 3, `${where} is rate limiting requests (429 Too Many Requests) after 3 attempts: Slow down.`],
      [statusError(503, 'Overloaded'), 1, `${where} failed with 503: Overloaded.`],
      [statusError(400, "'messages' is too long"), 1, `${where} rejected the request (400): 'messages' is too long.`],
      [new LlmTimeoutError(), 1, `${where} sent nothing for 5000 ms (LLM_TIMEOUT_MS); the request was abandoned.`],
      [new OpenAI.APIConnectionTimeoutError(), 1, `${where} sent nothing for 5000 ms (LLM_TIMEOUT_MS); the request was abandoned.`],
      [
        new OpenAI.APIConnectionError({ cause: new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }) }),
        3,
        'Could not reach the model provider at https://llm.example.com/v1 after 3 attempts: connect ECONNREFUSED 127.0.0.1:1. ' +
          'Check LLM_BASE_URL and that the server is running.',
      ],
      [new OpenAI.APIError(undefined, { message: 'boom' }, undefined, undefined), 1, `${where} reported an error while streaming: boom.`],
      [new SyntaxError('Unexpected token x in JSON'), 1, `${where} sent a malformed stream chunk (not JSON): Unexpected token x in JSON.`],
      [new LlmStreamIncompleteError(), 1, `${where} ended the stream before the answer was complete (no finish_reason).`],
      [new Error(`weird ${KEY}`), 1, 'The call to the model provider at https://llm.example.com/v1 failed: weird [redacted].'],
    ];
    for (const [err, attempts, message] of cases) {
      const described = describeProviderError(err, { ...context, attempts });
      expect(described.message).toBe(message);
      expect(described.message).not.toContain(KEY);
      expect(described.message).not.toContain('pw');
    }
  });

  it('shortens long provider messages', () => {
    const { message } = describeProviderError(statusError(500, 'x'.repeat(2000)), context);
    expect(message.length).toBeLessThan(700);
    expect(message).toContain('x'.repeat(500) + '…');
  });
});

describe('displayUrl', () => {
  it('drops credentials, query and trailing slashes', () => {
    expect(displayUrl('https://u:p@api.openai.com/v1/?key=1#x')).toBe('https://api.openai.com/v1');
    expect(displayUrl('http://localhost:11434/v1')).toBe('http://localhost:11434/v1');
  });
});
