/** The longest title `GET /threads` gives a thread. */
export const THREAD_TITLE_MAX_CHARS = 80;

/**
 * A thread's title: the start of its first input's text (`input.text`; for agents without one,
 * the first string of the input, as in `{ expression }`), whitespace collapsed, at most
 * {@link THREAD_TITLE_MAX_CHARS} characters (whole code points, so no emoji is cut in half).
 * Empty when the input holds no text.
 */
export function threadTitle(input: unknown): string {
  const text = firstText(input).replace(/\s+/g, ' ').trim();
  const chars = Array.from(text);
  if (chars.length <= THREAD_TITLE_MAX_CHARS) return text;
  return `${chars
    .slice(0, THREAD_TITLE_MAX_CHARS - 1)
    .join('')
    .trimEnd()}…`;
}

function firstText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return '';
  const record = input as Record<string, unknown>;
  if (typeof record.text === 'string') return record.text;
  const first = Object.values(record).find((v) => typeof v === 'string');
  return typeof first === 'string' ? first : '';
}
