import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  AGENT_EVENT_TYPES,
  isInFlightStatus,
  type AgentEventEnvelope,
  type AgentEventType,
  type AnyAgentEvent,
  type InterruptResolution,
  type MultitaskPolicy,
  type RunStatus,
  AGENTS_NAMESPACE,
  type AgentInfo,
  type ClientToServerEvents,
  type InterruptAnswer,
  type ServerToClientEvents,
  type StartedRunStatus,
  type ErrorBody,
} from '@agent-pipeline/protocol';
import {
  httpCall,
  type ListRunsOptions,
  type ListThreadsOptions,
  type RunPage,
  type ThreadPage,
  type ThreadWithRuns,
} from './threads.http';
import { AgentPipelineError, isAgentPipelineError } from './agent-pipeline.error';
import { AsyncEventQueue } from './async-event.queue';
import { newIdempotencyKey } from './idempotency-key';
import { isAgentEvent, RunEventSequencer } from './run-event.sequencer';

/** Where the connection stands; see {@link AgentPipelineClient.onStatus}. */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** One change of {@link ConnectionStatus}, for connection indicators. */
export interface ConnectionStatusChange {
  status: ConnectionStatus;
  previous: ConnectionStatus;
  /** `reconnecting`: the number of the attempt under way (1, 2, …), once one started. */
  attempt?: number;
  /** `connected` after a reconnect: whether Socket.IO recovered the session (missed events re-sent). */
  recovered?: boolean;
  /**
   * `reconnecting` / `disconnected`: why (`transport close`, `ping timeout`, … from Socket.IO;
   * `session_expired` when the server closed the socket because its token expired;
   * `too_many_connections` while the user holds `MAX_SOCKETS_PER_USER` sockets elsewhere).
   */
  reason?: string;
  /** `disconnected` for good: why (`UNAUTHORIZED` when the token is refused at a reconnect). */
  error?: AgentPipelineError;
}

/** Options of {@link AgentPipelineClient.connect}. */
export interface AgentPipelineConnectOptions {
  /** Base URL of the server, e.g. `http://localhost:3000`; `''` = the page's own origin (browsers). */
  url: string;
  /**
   * The bearer token (JWT), or a function that returns one; a function is called again at every
   * reconnect, so it can hand out a refreshed token. When the server ends the session because the
   * token expired (`session_expired`), a function is asked for a new one; a plain string cannot
   * be renewed, so the client then stops with `UNAUTHORIZED` (reason `session_expired`).
   */
  token: string | (() => string | Promise<string>);
  /** How long a command waits for its ack before failing with `ACK_TIMEOUT`. @default 30000 */
  ackTimeoutMs?: number;
  /** First reconnect delay, in ms; it doubles per failed attempt up to `reconnectionDelayMax`. @default 500 */
  reconnectionDelay?: number;
  /** @default 5000 */
  reconnectionDelayMax?: number;
  /** Jitter of the reconnect delays, 0–1. @default 0.5 */
  randomizationFactor?: number;
  /** Reconnect attempts before giving up (status `disconnected`, open runs fail). @default Infinity */
  reconnectionAttempts?: number;
  /** Socket.IO transports, in order of preference. @default ['polling', 'websocket'] (Socket.IO's default) */
  transports?: ('polling' | 'websocket' | 'webtransport')[];
  /** Any other `socket.io-client` option; it wins over the ones above. */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** Options of {@link AgentPipelineClient.startRun} and {@link AgentPipelineClient.run}. */
export interface StartRunOptions {
  /** Continue this conversation; a new thread id is made when absent. */
  threadId?: string;
  /**
   * What the server does when the thread has a run in flight: `reject` (the start fails with
   * `THREAD_BUSY`), `enqueue` (the run waits for the runs before it; {@link AgentPipelineClient.run}
   * keeps waiting through the queue) or `interrupt` (the runs in flight are cancelled with reason
   * `superseded`). The server's `THREAD_MULTITASK` when absent.
   */
  multitask?: MultitaskPolicy;
  /**
   * Names this start (1–255 printable ASCII characters; a random UUID when absent). The client
   * sends the start again with it after a dropped connection, and the server starts one run
   * whatever the number of copies. Pass your own to make retries of your own safe as well (after
   * an `ACK_TIMEOUT`, a page reload, or from another process): the same request with the same key
   * is answered with the run it started (`replayed: true`) within the server's `IDEMPOTENCY_TTL_MS`.
   */
  idempotencyKey?: string;
}

/** The ids of a started run. */
export interface StartedRunInfo {
  runId: string;
  threadId: string;
  /**
   * `queued` while the run waits for the runs before it on its thread (its events come once it
   * starts), else `running`; for a replayed start, the run's status now, which may be any.
   */
  status: StartedRunStatus | RunStatus;
  /** Set when the idempotency key already named this run: the server started nothing new. */
  replayed?: true;
}

/** The answer of {@link AgentPipelineClient.replay}. */
export interface ReplayResult {
  runId: string;
  /** The run's status once its events were read. */
  status: RunStatus;
  /** Seq of the last stored event. */
  lastSeq: number;
  /** The events with `seq > afterSeq`, in order, each once. */
  events: AnyAgentEvent[];
}

/**
 * A run's events as an async iterable: each event exactly once, in `seq` order, ending after the
 * terminal event (`agent_completed`, `agent_error` or `agent_cancelled`). It throws an
 * {@link AgentPipelineError} when the run cannot be followed any more (the start was refused,
 * the token was refused at a reconnect, the client was closed). A run can be iterated once.
 */
export interface RunEvents extends AsyncIterable<AnyAgentEvent> {
  /** Stops following (the iteration ends); the run itself goes on. Breaking out of `for await` does the same. */
  stop(): void;
}

/** The answer of {@link AgentPipelineClient.resume}. */
export interface ResumeResult {
  runId: string;
  interruptId: string;
  /** `approved`, `denied` or `answered`. */
  resolution: InterruptResolution;
}

/** A run started by {@link AgentPipelineClient.run}. */
export interface AgentRun extends RunEvents {
  /** Settles with the run's ids once the server accepted it; rejects with the refusal. */
  readonly started: Promise<StartedRunInfo>;
  /** Cancels the run (`run:cancel`); its `agent_cancelled` event then ends the iteration. */
  cancel(): Promise<void>;
  /** Answers the run's open question (see {@link AgentPipelineClient.resume}); the iteration goes on. */
  resume(interruptId: string, answer: InterruptAnswer): Promise<ResumeResult>;
}

/** An existing run followed by {@link AgentPipelineClient.follow}. */
export interface FollowedRun extends RunEvents {
  readonly runId: string;
  cancel(): Promise<void>;
  /** Answers the run's open question (see {@link AgentPipelineClient.resume}). */
  resume(interruptId: string, answer: InterruptAnswer): Promise<ResumeResult>;
}

/** Options of {@link AgentPipelineClient.follow}. */
export interface FollowOptions {
  /** Events up to this seq were already seen and are not delivered again. @default 0 */
  afterSeq?: number;
}

type AgentSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type CommandName = keyof ClientToServerEvents;
type CommandPayload<E extends CommandName> = Parameters<ClientToServerEvents[E]>[0];
type CommandAck<E extends CommandName> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
type OkAck<E extends CommandName> = Extract<CommandAck<E>, { ok: true }>;

/** A handler of raw events: the envelope as it arrived, copies included. */
export type RawEventHandler<T extends AgentEventType = AgentEventType> = (event: AgentEventEnvelope<T>) => void;

interface RunTracker {
  readonly runId: string;
  readonly sequencer: RunEventSequencer;
  readonly queue: AsyncEventQueue<AnyAgentEvent>;
  replaying: boolean;
  replayAgain: boolean;
  /** Replays in a row that ended with the run still short of events: after a few, the run fails. */
  fruitlessReplays: number;
}

interface ReplayCollector {
  readonly runId: string;
  readonly afterSeq: number;
  readonly events: Map<number, AnyAgentEvent>;
}

const DEFAULT_ACK_TIMEOUT_MS = 30_000;
/** Replays in a row that may leave a gap before the run is declared broken. */
const MAX_FRUITLESS_REPLAYS = 3;
/** Events of not-yet-acknowledged runs kept while a `run:start` is in flight. */
const MAX_EARLY_EVENTS = 10_000;

/**
 * A typed client of the agent pipeline's Socket.IO protocol (namespace `/agents`, DESIGN.md),
 * for Node and browsers. Wire types are the contract's (`@agent-pipeline/protocol`).
 *
 * Runs are followed exactly once: after any disconnect (network drop, server restart, failed
 * connection state recovery) Socket.IO reconnects with backoff, and the client asks for
 * `run:replay` after the last `seq` it delivered of every run still open. Copies, by
 * `(runId, seq)`, are dropped; events that arrive early wait for the ones before them.
 *
 * ```ts
 * const client = await AgentPipelineClient.connect({ url: 'http://localhost:3000', token });
 * for await (const event of client.run('countdown', { steps: 3, intervalMs: 100 })) console.log(event.type);
 * client.close();
 * ```
 */
export class AgentPipelineClient {
  private socket?: AgentSocket;
  private options?: AgentPipelineConnectOptions;
  private currentStatus: ConnectionStatus = 'idle';
  private closedByUser = false;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private readonly trackers = new Set<RunTracker>();
  private readonly collectors = new Set<ReplayCollector>();
  private readonly rawHandlers = new Map<AgentEventType | '*', Set<RawEventHandler>>();
  private readonly statusHandlers = new Set<(change: ConnectionStatusChange) => void>();
  /** Events of runs nobody follows yet, kept only while a start is waiting for its ack. */
  private readonly earlyEvents = new Map<string, AnyAgentEvent[]>();
  private earlyEventCount = 0;
  private startsInFlight = 0;
  /** Starts waiting for the connection to come back, to be sent (again). */
  private readonly connectionWaiters = new Set<{ resolve(): void; reject(error: AgentPipelineError): void }>();

  /** Creates a client and connects it; see {@link AgentPipelineClient.connect}. */
  static async connect(options: AgentPipelineConnectOptions): Promise<AgentPipelineClient> {
    const client = new AgentPipelineClient();
    await client.connect(options);
    return client;
  }

  /** Where the connection stands. */
  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /**
   * The underlying Socket.IO socket (undefined before `connect()`). For diagnostics and tests;
   * commands sent on it directly bypass the client's bookkeeping.
   */
  get rawSocket(): AgentSocket | undefined {
    return this.socket;
  }

  /**
   * Opens the connection and resolves once the server accepted it. Rejects with `UNAUTHORIZED`
   * when the token is refused and `CONNECT_FAILED` when the server cannot be reached; the
   * client then stays closed. Once connected, drops are repaired on their own.
   */
  connect(options: AgentPipelineConnectOptions): Promise<void> {
    if (this.socket)
      return Promise.reject(new Error('AgentPipelineClient.connect(): already connected. Call close() first to connect again.'));
    this.options = options;
    this.closedByUser = false;
    const base = options.url.replace(/\/+$/, '');
    const socket: AgentSocket = io(`${base}${AGENTS_NAMESPACE}`, {
      auth: (cb: (auth: { token?: string }) => void) => {
        Promise.resolve()
          .then(() => (typeof options.token === 'function' ? options.token() : options.token))
          .then(
            (token) => cb({ token }),
            () => cb({}),
          );
      },
      reconnection: true,
      reconnectionDelay: options.reconnectionDelay ?? 500,
      reconnectionDelayMax: options.reconnectionDelayMax ?? 5000,
      randomizationFactor: options.randomizationFactor ?? 0.5,
      reconnectionAttempts: options.reconnectionAttempts ?? Infinity,
      ...(options.transports ? { transports: options.transports } : {}),
      ...options.socketOptions,
    });
    this.socket = socket;
    for (const type of AGENT_EVENT_TYPES) {
      (socket as unknown as Socket).on(type, (event: unknown) => this.onEvent(type, event));
    }
    this.setStatus('connecting');
    return new Promise<void>((resolve, reject) => {
      let first = true;
      socket.on('connect', () => {
        this.setStatus('connected', first ? {} : { recovered: socket.recovered === true });
        if (first) {
          first = false;
          resolve();
        }
        // Every run still open asks for what it missed (recovered sessions too: copies are dropped).
        for (const tracker of this.trackers) this.requestReplay(tracker);
        // Starts that were cut off go out again.
        for (const waiter of [...this.connectionWaiters]) waiter.resolve();
      });
      socket.on('connect_error', (err: Error) => {
        const unauthorized = err.message === 'unauthorized';
        const tooMany = err.message === 'too_many_connections';
        if (first) {
          first = false;
          this.shutDown();
          const error = unauthorized
            ? new AgentPipelineError('UNAUTHORIZED', 'The server refused the token (unauthorized).')
            : tooMany
              ? new AgentPipelineError(
                  'TOO_MANY_CONNECTIONS',
                  'This user already has as many connections as the server allows (MAX_SOCKETS_PER_USER): close another tab or client.',
                )
              : new AgentPipelineError(
                  'CONNECT_FAILED',
                  `Could not connect to ${base || 'this origin'}${AGENTS_NAMESPACE}: ${err.message}`,
                );
          this.setStatus('disconnected', { error });
          this.failAll(error);
          reject(error);
          return;
        }
        if (tooMany) {
          // Refused by the server's middleware, which Socket.IO does not retry: try again once
          // another connection of this user may have closed.
          this.setStatus('reconnecting', { reason: 'too_many_connections' });
          this.scheduleReconnect(socket, options.reconnectionDelayMax ?? 5000);
          return;
        }
        if (unauthorized) {
          // A refused handshake is final for Socket.IO (no retry): the token has to change.
          const error = new AgentPipelineError(
            'UNAUTHORIZED',
            'The server refused the token at a reconnect (expired, or the server changed its secret). Sign in again.',
          );
          this.shutDown();
          this.setStatus('disconnected', { error });
          this.failAll(error);
        }
        // Anything else (server down, network): Socket.IO keeps retrying.
      });
      let sessionExpired = false;
      (socket as unknown as Socket).on('session_expired', () => {
        sessionExpired = true;
      });
      socket.on('disconnect', (reason: string) => {
        if (this.closedByUser || this.socket !== socket) return;
        const expired = sessionExpired;
        sessionExpired = false;
        if (expired && typeof options.token === 'string') {
          const error = new AgentPipelineError(
            'UNAUTHORIZED',
            'The session ended because the token expired. Sign in again (or pass a token function to renew it).',
          );
          this.shutDown();
          this.setStatus('disconnected', { reason: 'session_expired', error });
          this.failAll(error);
          return;
        }
        this.setStatus('reconnecting', { reason: expired ? 'session_expired' : reason });
        // The server closed this socket on purpose; Socket.IO leaves reconnecting to the app.
        if (reason === 'io server disconnect') this.scheduleReconnect(socket, options.reconnectionDelay ?? 500);
      });
      socket.io.on('reconnect_attempt', (attempt: number) => {
        if (!this.closedByUser && this.socket === socket) this.setStatus('reconnecting', { attempt });
      });
      socket.io.on('reconnect_failed', () => {
        if (this.closedByUser || this.socket !== socket) return;
        const error = new AgentPipelineError('DISCONNECTED', 'Gave up reconnecting to the server.');
        this.shutDown();
        this.setStatus('disconnected', { error });
        this.failAll(error);
      });
    });
  }

  /** Closes the connection; runs still being followed fail with `DISCONNECTED`. */
  close(): void {
    this.closedByUser = true;
    this.shutDown();
    this.failAll(new AgentPipelineError('DISCONNECTED', 'The client was closed.'));
    if (this.currentStatus !== 'idle') this.setStatus('disconnected', { reason: 'closed' });
  }

  /**
   * Listens to connection status changes (for a connection indicator).
   * @returns A function that removes the listener.
   */
  onStatus(handler: (change: ConnectionStatusChange) => void): () => void {
    this.statusHandlers.add(handler);
    return () => this.statusHandlers.delete(handler);
  }

  /**
   * Listens to raw events of one type (or `'*'` for all) of every run of this user, as they
   * arrive: a replay after a reconnect may deliver one twice. Use {@link run} or {@link follow}
   * to get a run's events exactly once and in order.
   * @returns A function that removes the listener.
   */
  on<T extends AgentEventType>(type: T | '*', handler: RawEventHandler<T>): () => void {
    let set = this.rawHandlers.get(type);
    if (!set) this.rawHandlers.set(type, (set = new Set()));
    set.add(handler as RawEventHandler);
    return () => set!.delete(handler as RawEventHandler);
  }

  /** The agents the server runs (`agents:list`). */
  async listAgents(): Promise<AgentInfo[]> {
    return (await this.command('agents:list', {})).agents;
  }

  /**
   * The user's conversations, most recently active first (`GET /threads`, over HTTP at the same
   * `url` with the same token): pass the page's `next` as `before` for the following one.
   */
  async listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', options.before);
    const qs = query.toString();
    return (await this.http<ThreadPage>('GET', `/threads${qs ? `?${qs}` : ''}`))!;
  }

  /** The user's runs, newest first (`GET /runs`, over HTTP like {@link listThreads}). */
  async listRuns(options: ListRunsOptions = {}): Promise<RunPage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options)) if (value !== undefined) query.set(key, String(value));
    const qs = query.toString();
    return (await this.http<RunPage>('GET', `/runs${qs ? `?${qs}` : ''}`))!;
  }

  /** One conversation with its runs, oldest first (`GET /threads/:threadId`); `THREAD_NOT_FOUND` when the user has no run on it. */
  async getThread(threadId: string): Promise<ThreadWithRuns> {
    return (await this.http<ThreadWithRuns>('GET', `/threads/${encodeURIComponent(threadId)}`))!;
  }

  /**
   * Deletes a conversation for good: its runs, their events and the assistant's memory of it
   * (`DELETE /threads/:threadId`). `THREAD_BUSY` while one of its runs is in flight; `THREAD_NOT_FOUND`.
   */
  async deleteThread(threadId: string): Promise<void> {
    await this.http('DELETE', `/threads/${encodeURIComponent(threadId)}`);
  }

  private async http<T>(method: string, path: string): Promise<T | undefined> {
    const options = this.options;
    if (!options)
      throw new AgentPipelineError('NOT_CONNECTED', `${method} ${path.split('?')[0]} needs connect() first (it takes the URL and token).`);
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    return httpCall<T>(options.url, token, method, path);
  }

  /**
   * Starts a run (`run:start`) and resolves its ids. To get its events use {@link run} instead:
   * events sent between this ack and a later {@link follow} are replayed, but `run()` needs no replay.
   *
   * Every start carries an idempotency key (see {@link StartRunOptions.idempotencyKey}). When the
   * connection drops before the answer, the start waits for the connection to come back and is
   * sent again, as often as it takes: it resolves once, with the one run the server made. It
   * fails only with the server's refusal, `ACK_TIMEOUT`, or when the client stops (closed, token
   * refused, reconnection given up).
   */
  async startRun(agent: string, input?: unknown, options: StartRunOptions = {}): Promise<StartedRunInfo> {
    return (await this.sendStart(agent, input, options)).info;
  }

  /** `run:start`, sent again after every drop until it is answered; `resent` when it was. */
  private async sendStart(agent: string, input: unknown, options: StartRunOptions): Promise<{ info: StartedRunInfo; resent: boolean }> {
    const payload = {
      agent,
      input,
      ...(options.threadId !== undefined ? { threadId: options.threadId } : {}),
      ...(options.multitask !== undefined ? { multitask: options.multitask } : {}),
      idempotencyKey: options.idempotencyKey ?? newIdempotencyKey(),
    };
    for (let resent = false; ; resent = true) {
      await this.connected();
      let ack: OkAck<'run:start'>;
      try {
        ack = await this.command('run:start', payload);
      } catch (err) {
        // Cut off before the answer: it may have started. The same key again finds it if it did.
        if (isAgentPipelineError(err, 'DISCONNECTED') && this.socket && !this.closedByUser) continue;
        throw err;
      }
      // A server without thread queues does not say: its runs always start at once.
      const info: StartedRunInfo = { runId: ack.runId, threadId: ack.threadId, status: ack.status ?? 'running' };
      if (ack.replayed === true) info.replayed = true;
      return { info, resent };
    }
  }

  /** Resolves once the socket is connected; rejects when the client stops for good. */
  private connected(): Promise<void> {
    if (!this.socket) {
      return Promise.reject(
        this.closedByUser
          ? new AgentPipelineError('DISCONNECTED', 'The client was closed.')
          : new AgentPipelineError('NOT_CONNECTED', "Cannot send 'run:start': call connect() first."),
      );
    }
    if (this.socket.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          this.connectionWaiters.delete(waiter);
          resolve();
        },
        reject: (error: AgentPipelineError) => {
          this.connectionWaiters.delete(waiter);
          reject(error);
        },
      };
      this.connectionWaiters.add(waiter);
    });
  }

  /** Cancels a run (`run:cancel`); `RUN_FINISHED` when it had already ended, `RUN_NOT_FOUND` when unknown. */
  async cancel(runId: string): Promise<{ runId: string }> {
    const ack = await this.command('run:cancel', { runId });
    return { runId: ack.runId };
  }

  /**
   * Answers a waiting run's question (`run:resume`), the `interruptId` of its `interrupt_requested`
   * event: `{ approved: true | false }` for an `approval`, `{ response }` for an `input` (or
   * `{ approved: false }` to decline it), with an optional `reason`. Works from any tab or device
   * of the user; fails with `INTERRUPT_RESOLVED` when another answer won or the question expired,
   * `INTERRUPT_NOT_FOUND`, `VALIDATION_FAILED` (the question stays open) or `RUN_NOT_FOUND`.
   */
  async resume(runId: string, interruptId: string, answer: InterruptAnswer): Promise<ResumeResult> {
    const ack = await this.command('run:resume', { runId, interruptId, ...answer });
    return { runId: ack.runId, interruptId: ack.interruptId, resolution: ack.resolution };
  }

  /** The stored events of a run after `afterSeq` (`run:replay`), with the run's status. */
  async replay(runId: string, afterSeq = 0): Promise<ReplayResult> {
    const collector: ReplayCollector = { runId, afterSeq, events: new Map() };
    this.collectors.add(collector);
    try {
      const ack = await this.command('run:replay', { runId, afterSeq });
      const events = [...collector.events.values()].sort((a, b) => a.seq - b.seq);
      return { runId: ack.runId, status: ack.status, lastSeq: ack.lastSeq, events };
    } finally {
      this.collectors.delete(collector);
    }
  }

  /**
   * Starts a run and returns its events as an async iterable (see {@link RunEvents}): every event
   * exactly once, in order, through reconnects and server restarts, ending after the terminal event.
   */
  run(agent: string, input?: unknown, options: StartRunOptions = {}): AgentRun {
    let tracker: RunTracker | undefined;
    const queue = new AsyncEventQueue<AnyAgentEvent>(() => tracker && this.trackers.delete(tracker));
    this.startsInFlight++;
    const started = this.sendStart(agent, input, options)
      .then(
        ({ info, resent }) => {
          if (!queue.isClosed) {
            tracker = this.track(info.runId, queue, 0);
            // Events that came before the ack (e.g. in the same polling payload) are not lost.
            const early = this.earlyEvents.get(info.runId) ?? [];
            this.earlyEvents.delete(info.runId);
            for (const event of early) this.feed(tracker, event);
            // Events sent while the start was cut off, or before this client knew the run (a
            // replayed start), came to nobody: they are read back from the store.
            if ((resent || info.replayed) && this.trackers.has(tracker)) this.requestReplay(tracker);
          }
          return info;
        },
        (err: unknown) => {
          queue.fail(err);
          throw err;
        },
      )
      .finally(() => {
        if (--this.startsInFlight === 0) {
          this.earlyEvents.clear();
          this.earlyEventCount = 0;
        }
      });
    started.catch(() => undefined);
    return {
      started,
      cancel: async () => {
        await this.cancel((await started).runId);
      },
      resume: async (interruptId, answer) => this.resume((await started).runId, interruptId, answer),
      stop: () => void queue.return(),
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }

  /**
   * Follows a run that already exists (started elsewhere, or before a page reload): replays its
   * events after `afterSeq`, then delivers the live ones, each exactly once, in order, ending after
   * the terminal event (at once for a run that has ended). Fails with `RUN_NOT_FOUND` for an
   * unknown run or another user's.
   */
  follow(runId: string, options: FollowOptions = {}): FollowedRun {
    const queue = new AsyncEventQueue<AnyAgentEvent>(() => this.trackers.delete(tracker));
    const tracker = this.track(runId, queue, options.afterSeq ?? 0);
    this.requestReplay(tracker);
    return {
      runId,
      cancel: async () => {
        await this.cancel(runId);
      },
      resume: (interruptId, answer) => this.resume(runId, interruptId, answer),
      stop: () => void queue.return(),
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    };
  }

  private track(runId: string, queue: AsyncEventQueue<AnyAgentEvent>, afterSeq: number): RunTracker {
    const tracker: RunTracker = {
      runId,
      sequencer: new RunEventSequencer(runId, afterSeq),
      queue,
      replaying: false,
      replayAgain: false,
      fruitlessReplays: 0,
    };
    this.trackers.add(tracker);
    return tracker;
  }

  private onEvent(type: AgentEventType, event: unknown): void {
    for (const key of [type, '*'] as const) {
      for (const handler of this.rawHandlers.get(key) ?? []) {
        try {
          handler(event as AgentEventEnvelope);
        } catch (err) {
          // A listener's bug must not stop delivery to the others; report it out of band.
          setTimeout(() => {
            throw err;
          });
        }
      }
    }
    if (!isAgentEvent(event) || event.type !== type) return;
    for (const collector of this.collectors) {
      if (collector.runId === event.runId && event.seq > collector.afterSeq) collector.events.set(event.seq, event);
    }
    let followed = false;
    for (const tracker of this.trackers) {
      if (tracker.runId !== event.runId) continue;
      followed = true;
      this.feed(tracker, event);
    }
    if (!followed && this.startsInFlight > 0 && this.earlyEventCount < MAX_EARLY_EVENTS) {
      const list = this.earlyEvents.get(event.runId) ?? [];
      list.push(event);
      this.earlyEvents.set(event.runId, list);
      this.earlyEventCount++;
    }
  }

  private feed(tracker: RunTracker, event: AnyAgentEvent): void {
    for (const ready of tracker.sequencer.accept(event)) tracker.queue.push(ready);
    if (tracker.sequencer.ended) this.finish(tracker);
    else if (tracker.sequencer.hasGap) this.requestReplay(tracker);
  }

  private finish(tracker: RunTracker, error?: AgentPipelineError): void {
    this.trackers.delete(tracker);
    if (error) tracker.queue.fail(error);
    else tracker.queue.end();
  }

  private failAll(error: AgentPipelineError): void {
    for (const tracker of [...this.trackers]) this.finish(tracker, error);
    for (const waiter of [...this.connectionWaiters]) waiter.reject(error);
  }

  /** Asks for the events of a followed run after the last one delivered; one request at a time per run. */
  private requestReplay(tracker: RunTracker): void {
    if (!this.socket?.connected || !this.trackers.has(tracker)) return;
    if (tracker.replaying) {
      tracker.replayAgain = true;
      return;
    }
    tracker.replaying = true;
    tracker.replayAgain = false;
    const afterSeq = tracker.sequencer.lastSeq;
    this.command('run:replay', { runId: tracker.runId, afterSeq })
      .then((ack) => this.afterReplay(tracker, ack))
      .catch((err: unknown) => {
        if (isAgentPipelineError(err, 'ACK_TIMEOUT')) tracker.replayAgain = true;
        // Disconnected: the next `connect` asks again.
        if (isAgentPipelineError(err, 'ACK_TIMEOUT', 'DISCONNECTED', 'NOT_CONNECTED')) return;
        this.finish(tracker, isAgentPipelineError(err) ? err : new AgentPipelineError('INTERNAL', String(err)));
      })
      .finally(() => {
        tracker.replaying = false;
        if (tracker.replayAgain) this.requestReplay(tracker);
      });
  }

  /**
   * The server sent every stored event after `afterSeq` before this ack. A run that is still
   * short of events once it has ended on the server is either missing events in the store (asked
   * again a few times) or ended below what this client saw (a killed server lost events it had sent).
   */
  private async afterReplay(tracker: RunTracker, ack: OkAck<'run:replay'>): Promise<void> {
    if (!this.trackers.has(tracker)) return;
    const { sequencer } = tracker;
    const ended = !isInFlightStatus(ack.status);
    const short = ack.lastSeq > sequencer.lastSeq || (ended && !sequencer.ended);
    if (!short) {
      tracker.fruitlessReplays = 0;
      return;
    }
    if (ended && ack.lastSeq <= sequencer.lastSeq) {
      const { events } = await this.replay(tracker.runId, ack.lastSeq - 1);
      const terminal = events.find((e) => e.seq === ack.lastSeq);
      const adopted = terminal && sequencer.adoptTerminal(terminal);
      if (adopted && this.trackers.has(tracker)) {
        tracker.queue.push(adopted);
        this.finish(tracker);
        return;
      }
    }
    if (++tracker.fruitlessReplays >= MAX_FRUITLESS_REPLAYS) {
      this.finish(
        tracker,
        new AgentPipelineError(
          'INTERNAL',
          `Run '${tracker.runId}' cannot be followed: the server stored events up to seq ${ack.lastSeq} (status ${ack.status}) but replays left a gap after seq ${sequencer.lastSeq}.`,
        ),
      );
      return;
    }
    tracker.replayAgain = true;
  }

  private async command<E extends CommandName>(event: E, payload: CommandPayload<E>): Promise<OkAck<E>> {
    const socket = this.socket;
    if (!socket) throw new AgentPipelineError('NOT_CONNECTED', `Cannot send '${event}': call connect() first.`);
    const timeoutMs = this.options?.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    let ack: CommandAck<E>;
    try {
      ack = (await (socket.timeout(timeoutMs) as unknown as Socket).emitWithAck(event, payload)) as CommandAck<E>;
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (/disconnected/i.test(message)) {
        throw new AgentPipelineError(
          'DISCONNECTED',
          `The connection closed before '${event}' was answered; it may or may not have been carried out.`,
        );
      }
      throw new AgentPipelineError('ACK_TIMEOUT', `'${event}' got no answer within ${timeoutMs} ms.`);
    }
    if (typeof ack !== 'object' || ack === null) throw new AgentPipelineError('INTERNAL', `'${event}' was answered with a malformed ack.`);
    if (ack.ok !== true) throw AgentPipelineError.fromBody((ack as { error?: Partial<ErrorBody> }).error);
    return ack as OkAck<E>;
  }

  /** Reconnects after `delayMs`, for closes Socket.IO does not repair itself (server disconnects, middleware refusals). */
  private scheduleReconnect(socket: AgentSocket, delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.closedByUser && this.socket === socket && !socket.connected) socket.connect();
    }, delayMs);
  }

  private shutDown(): void {
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.disconnect();
      socket.removeAllListeners();
      socket.io.off('reconnect_attempt');
      socket.io.off('reconnect_failed');
    }
  }

  private setStatus(status: ConnectionStatus, extra: Omit<ConnectionStatusChange, 'status' | 'previous'> = {}): void {
    const previous = this.currentStatus;
    if (previous === status && extra.attempt === undefined && extra.error === undefined) return;
    this.currentStatus = status;
    const change: ConnectionStatusChange = { status, previous, ...extra };
    for (const handler of this.statusHandlers) {
      try {
        handler(change);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
