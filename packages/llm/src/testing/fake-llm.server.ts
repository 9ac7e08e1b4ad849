import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request the fake provider received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads whatever the agent sent
  body: any;
  /** Resolves when the client's TCP connection of this request closes. */
  socketClosed: Promise<void>;
  /** True once the response was fully written (false when the client hung up first). */
  readonly responseFinished: boolean;
}

/** Answers one request. */
export type Responder = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A local OpenAI-compatible Chat Completions server for tests (start it on port 0 and use
 * {@link FakeLlmServer.baseUrl} as `LLM_BASE_URL`): every request is recorded and answered by
 * the next scripted responder, a 500 saying so when none is left. The reply builders below speak
 * the streaming format as OpenAI does: SSE `data:` lines, tool-call pieces spread over chunks, `[DONE]`.
 *
 * @example
 * const server = await FakeLlmServer.start();
 * server.enqueue(textReply(['Hello', ' world'], { usage: [10, 2] }));
 */
export class FakeLlmServer {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: Responder[] = [];

  private constructor(
    private readonly server: Server,
    /** Base URL to use as LLM_BASE_URL (`http://127.0.0.1:<port>/v1`). */
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeLlmServer> {
    // eslint-disable-next-line prefer-const -- assigned after the server that closes over it
    let fake!: FakeLlmServer;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socketClosed = closeOf(req.socket);
        const text = Buffer.concat(chunks).toString('utf8');
        const received: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: text ? JSON.parse(text) : undefined,
          socketClosed,
          get responseFinished() {
            return res.writableFinished;
          },
        };
        fake.requests.push(received);
        const respond = fake.script.shift() ?? errorReply(500, 'The test scripted no response for this request.');
        void Promise.resolve(respond(received, res)).catch((err: Error) => res.destroy(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeLlmServer(server, `http://127.0.0.1:${port}/v1`);
    return fake;
  }

  /** Queues responders for the next requests, in order. */
  enqueue(...responders: Responder[]): void {
    this.script.push(...responders);
  }

  /** Forgets requests and unused responders. */
  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// Keep-alive sockets carry many requests: one close listener per socket, shared by its requests.
const socketCloses = new WeakMap<Socket, Promise<void>>();
function closeOf(socket: Socket): Promise<void> {
  let closed = socketCloses.get(socket);
  if (!closed) {
    closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socketCloses.set(socket, closed);
  }
  return closed;
}

let chunkCount = 0;

/** One `chat.completion.chunk` with a single choice. */
export function chunk(delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
  return {
    id: `chatcmpl-${++chunkCount}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'test-model',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/** The usage chunk `stream_options.include_usage` asks for: no choices, only usage. */
export function usageChunk(prompt: number, completion: number): Record<string, unknown> {
  return {
    id: `chatcmpl-${++chunkCount}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'test-model',
    choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function send(res: ServerResponse, data: unknown): void {
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Streams SSE `data:` events (objects are JSON-encoded, strings sent as they are), then `[DONE]`. */
export function streamReply(events: unknown[], options: { beforeEvent?: (index: number) => Promise<void> | void } = {}): Responder {
  return async (_req, res) => {
    startStream(res);
    for (let i = 0; i < events.length; i++) {
      await options.beforeEvent?.(i);
      send(res, events[i]);
    }
    send(res, '[DONE]');
    res.end();
  };
}

/**
 * Streams a text answer as one content delta per part (the first carrying the role), a `stop`
 * finish and, if given, a usage chunk.
 */
export function textReply(
  parts: string[],
  options: { usage?: [number, number]; beforePart?: (index: number) => Promise<void> | void } = {},
): Responder {
  const events: unknown[] = parts.map((content, i) => chunk(i === 0 ? { role: 'assistant', content } : { content }));
  events.push(chunk({}, 'stop'));
  if (options.usage) events.push(usageChunk(...options.usage));
  return streamReply(events, { beforeEvent: (i) => (i < parts.length ? options.beforePart?.(i) : undefined) });
}

/** A scripted tool call: its arguments arrive split into `argumentParts`, one chunk each. */
export interface ScriptedToolCall {
  id: string;
  name: string;
  argumentParts: string[];
}

/**
 * Streams tool calls the way OpenAI does: per call, a first chunk with index, id, type and name
 * (empty arguments), then one chunk per piece of the arguments carrying only the index; finish
 * reason `tool_calls`.
 */
export function toolCallReply(calls: ScriptedToolCall[], options: { usage?: [number, number] } = {}): Responder {
  const events: unknown[] = [chunk({ role: 'assistant', content: null })];
  calls.forEach((call, index) => {
    events.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const part of call.argumentParts) events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  events.push(chunk({}, 'tool_calls'));
  if (options.usage) events.push(usageChunk(...options.usage));
  return streamReply(events);
}

/** An error answer with an OpenAI-style JSON body. */
export function errorReply(status: number, message: string, headers: Record<string, string> = {}): Responder {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type: 'test_error', code: null, param: null } }));
  };
}

/** Sends the given SSE events, then keeps the response open until the client goes away. */
export function stallingReply(events: unknown[] = []): Responder {
  return async (req, res) => {
    startStream(res);
    for (const event of events) send(res, event);
    await req.socketClosed;
  };
}

/** Never answers at all (not even headers) until the client goes away. */
export function silentReply(): Responder {
  return (req) => req.socketClosed;
}
