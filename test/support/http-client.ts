import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';

/** A JSON answer of the HTTP API. */
export interface JsonAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small `fetch` wrapper for the HTTP API of a test app. */
export class HttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** The same client as another caller (`undefined` = no Authorization header). */
  as(token: string | undefined): HttpClient {
    return new HttpClient(this.baseUrl, token);
  }

  get<T = any>(path: string, headers: Record<string, string> = {}): Promise<JsonAnswer<T>> {
    return this.send<T>('GET', path, undefined, headers);
  }

  post<T = any>(
    path: string,
    body?: unknown,
    init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<JsonAnswer<T>> {
    return this.send<T>('POST', path, body === undefined ? undefined : JSON.stringify(body), init.headers, init.signal);
  }

  /** Sends `raw` as the body as it is (bad JSON, oversize bodies). */
  postRaw<T = any>(path: string, raw: string, contentType = 'application/json'): Promise<JsonAnswer<T>> {
    return this.send<T>('POST', path, raw, { 'Content-Type': contentType });
  }

  async send<T>(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<JsonAnswer<T>> {
    const res = await fetch(this.baseUrl + path, {
      method,
      body,
      signal,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /** Opens `GET path` as a Server-Sent Events stream. */
  async stream(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<SseStream> {
    const res = await fetch(this.baseUrl + path, {
      headers: { Accept: 'text/event-stream', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}), ...headers },
      signal,
    });
    return new SseStream(res);
  }
}

/** One Server-Sent Events message as it came over the wire. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** One item of a stream: a message or a comment line (`: keep-alive`). */
export type SseItem = { kind: 'message'; message: SseMessage } | { kind: 'comment'; text: string };

/**
 * A Server-Sent Events response, parsed by hand from fetch's body reader (the format of the
 * HTML spec: fields up to a blank line; lines starting with ':' are comments).
 */
export class SseStream {
  private readonly reader?: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private readonly ready: SseItem[] = [];
  private done = false;

  constructor(readonly response: Response) {
    this.reader = response.ok ? response.body!.getReader() : undefined;
  }

  get status(): number {
    return this.response.status;
  }

  /** The next message or comment; `undefined` once the server has ended the stream. */
  async next(): Promise<SseItem | undefined> {
    while (this.ready.length === 0) {
      if (this.done || !this.reader) return undefined;
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        this.buffer += this.decoder.decode();
      } else {
        this.buffer += this.decoder.decode(value, { stream: true });
      }
      this.parseBlocks();
    }
    return this.ready.shift();
  }

  /** Reads to the end of the stream; returns the messages (comments counted apart). */
  async readAll(): Promise<{ messages: SseMessage[]; comments: string[] }> {
    const messages: SseMessage[] = [];
    const comments: string[] = [];
    for (let item = await this.next(); item; item = await this.next()) {
      if (item.kind === 'message') messages.push(item.message);
      else comments.push(item.text);
    }
    return { messages, comments };
  }

  /** Reads until a message satisfies `predicate`; returns every message read, that one included. */
  async readUntil(predicate: (m: SseMessage) => boolean): Promise<SseMessage[]> {
    const messages: SseMessage[] = [];
    for (let item = await this.next(); item; item = await this.next()) {
      if (item.kind !== 'message') continue;
      messages.push(item.message);
      if (predicate(item.message)) return messages;
    }
    throw new Error(`The stream ended before the awaited message; got ${messages.map((m) => m.id).join(',')}`);
  }

  /** Reads until a comment arrives; returns the messages read before it. */
  async readUntilComment(): Promise<{ comment: string; messages: SseMessage[] }> {
    const messages: SseMessage[] = [];
    for (let item = await this.next(); item; item = await this.next()) {
      if (item.kind === 'comment') return { comment: item.text, messages };
      messages.push(item.message);
    }
    throw new Error('The stream ended without a comment line');
  }

  /** Stops reading (the client goes away). */
  async cancel(): Promise<void> {
    await this.reader?.cancel();
  }

  private parseBlocks(): void {
    // Blocks end with a blank line; a trailing partial block waits for more bytes.
    const normalized = this.buffer.replace(/\r\n?/g, '\n');
    const blocks = normalized.split('\n\n');
    this.buffer = blocks.pop() ?? '';
    for (const block of blocks) {
      if (block === '') continue;
      const message: SseMessage = { data: '' };
      const data: string[] = [];
      let isMessage = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.ready.push({ kind: 'comment', text: line.slice(1).trim() });
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        isMessage = true;
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
      }
      if (isMessage) {
        message.data = data.join('\n');
        this.ready.push({ kind: 'message', message });
      }
    }
  }
}

/** The envelope a message carries. */
export function envelopeOf(message: SseMessage): AgentEventEnvelope {
  return JSON.parse(message.data) as AgentEventEnvelope;
}

export const isTerminalMessage = (m: SseMessage): boolean =>
  m.event === 'agent_completed' || m.event === 'agent_error' || m.event === 'agent_cancelled';

/** Waits until the wall clock is past `iso`, so the next run gets a later `createdAt`. */
export async function afterMillisecond(iso: string): Promise<void> {
  const t = Date.parse(iso);
  while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1));
}

/** Reads a sample's value from Prometheus text (0 when the series does not exist yet). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line.trim());
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]] = pair[2];
    if (Object.entries(labels).every(([k, v]) => found[k] === v) && Object.keys(found).length === Object.keys(labels).length) {
      return Number(match[3]);
    }
  }
  return 0;
}
