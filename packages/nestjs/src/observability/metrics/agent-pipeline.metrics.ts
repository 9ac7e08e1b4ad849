import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AGENT_EVENT_TYPES, type AgentEventEnvelope, type AgentResumedData } from '@agent-pipeline/protocol';
import { EventWriteBuffer } from '../../store/event-write.buffer';
import { RUN_STORE } from '../../pipeline.tokens';
import { RunDeletionHooks } from '../../store/run-deletion.hooks';
import { RunEventBus } from '../../emitter/run-event.bus';
import { RunLifecycleHooks, type RunLifecycleInfo, type RunLifecycleObserver } from '../../runs/run-lifecycle.hooks';
import { RunRegistry } from '../../runs/run.registry';
import { SocketRoomPublisher } from '../../emitter/socket-room.publisher';
import type { RunEnding } from '../../execution/request-scoped.orchestrator';
import type { RunStore } from '../../store/run-store.interface';

/** Names of the pipeline's own metrics (the default process metrics keep their usual names). */
export const METRIC_NAMES = {
  runsStarted: 'agent_pipeline_runs_started_total',
  runsEnded: 'agent_pipeline_runs_ended_total',
  runDuration: 'agent_pipeline_run_duration_seconds',
  activeRuns: 'agent_pipeline_active_runs',
  waitingRuns: 'agent_pipeline_waiting_runs',
  eventsEmitted: 'agent_pipeline_events_emitted_total',
  connectedSockets: 'agent_pipeline_connected_sockets',
  socketDisconnects: 'agent_pipeline_socket_disconnects_total',
  socketRefusals: 'agent_pipeline_socket_refusals_total',
  storeBacklog: 'agent_pipeline_store_backlog_events',
  queuedRuns: 'agent_pipeline_queued_runs',
  queueWait: 'agent_pipeline_queue_wait_seconds',
  runsDeleted: 'agent_pipeline_runs_deleted_total',
  runsResumed: 'agent_pipeline_runs_resumed_total',
  llmTokens: 'agent_pipeline_llm_tokens_total',
} as const;

/** Why the server closed a socket on its own. */
export type SocketDisconnectReason = 'slow_consumer' | 'session_expired';

/** Why the server refused a socket's handshake. */
export type SocketRefusalReason = 'unauthorized' | 'too_many_connections';

const OUTCOME_LABEL = { completed: 'completed', error: 'failed', cancelled: 'cancelled' } as const;

/**
 * The Prometheus metrics of the pipeline on this node, in a prom-client `Registry` of its own
 * ({@link registry}: serve it from your `/metrics` route, or merge it into yours with
 * `Registry.merge`), with the process' default metrics (several apps may share a
 * process, as in tests). Run counts and durations come from run lifecycle hooks, once per run;
 * events are counted by one cheap counter increment each; active runs and connected sockets are
 * read from their owners at scrape time, so no counter can drift from the truth.
 */
@Injectable()
export class AgentPipelineMetrics implements RunLifecycleObserver, OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private readonly runsStarted: Counter<'agent'>;
  private readonly runsEnded: Counter<'agent' | 'outcome' | 'code'>;
  private readonly runDuration: Histogram<'agent' | 'outcome'>;
  private readonly queueWait: Histogram<'agent'>;
  /** One pre-bound child per event type: counting an event is a property increment, no label lookup. */
  private readonly eventsByType = new Map<string, { inc(): void }>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly socketDisconnects: Counter<'reason'>;
  private readonly runsResumed: Counter<'agent' | 'reason'>;
  private readonly socketRefusals: Counter<'reason'>;
  private readonly runsDeleted: Counter<'reason'>;
  private readonly llmTokens: Counter<'agent' | 'model' | 'kind'>;

  constructor(
    private readonly lifecycle: RunLifecycleHooks,
    private readonly bus: RunEventBus,
    runs: RunRegistry,
    sockets: SocketRoomPublisher,
    @Inject(RUN_STORE) store: RunStore,
    writer: EventWriteBuffer,
    private readonly deletions: RunDeletionHooks,
  ) {
    const registers = [this.registry];
    this.runsStarted = new Counter({
      name: METRIC_NAMES.runsStarted,
      help: 'Runs started on this node, by agent.',
      labelNames: ['agent'],
      registers,
    });
    this.runsEnded = new Counter({
      name: METRIC_NAMES.runsEnded,
      help: 'Runs ended on this node, by agent and outcome (completed, failed, cancelled); code is the agent_error code of failed runs.',
      labelNames: ['agent', 'outcome', 'code'],
      registers,
    });
    this.runDuration = new Histogram({
      name: METRIC_NAMES.runDuration,
      help: 'Run duration from start to terminal event, in seconds, by agent and outcome.',
      labelNames: ['agent', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    const events = new Counter({
      name: METRIC_NAMES.eventsEmitted,
      help: 'Run events emitted on this node, by event type.',
      labelNames: ['type'],
      registers,
    });
    for (const type of AGENT_EVENT_TYPES) this.eventsByType.set(type, events.labels(type));
    new Gauge({
      name: METRIC_NAMES.activeRuns,
      help: 'Runs executing on this node (including runs being created).',
      registers,
      collect() {
        this.set(runs.size);
      },
    });
    new Gauge({
      name: METRIC_NAMES.waitingRuns,
      help: 'Runs of this node waiting for their user to answer a question (an open interrupt); also counted in active runs.',
      registers,
      collect() {
        this.set(runs.countWaiting());
      },
    });
    new Gauge({
      name: METRIC_NAMES.connectedSockets,
      help: "Socket.IO connections to the pipeline's namespace (default /agents) on this node.",
      registers,
      collect() {
        this.set(sockets.connectedSockets);
      },
    });
    this.queueWait = new Histogram({
      name: METRIC_NAMES.queueWait,
      help: 'How long runs started on this node waited queued on their thread, in seconds, by agent.',
      labelNames: ['agent'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers,
    });
    new Gauge({
      name: METRIC_NAMES.queuedRuns,
      help: 'Runs queued on their thread, waiting to start (read from the run store: every node of a cluster reports the same queue).',
      registers,
      async collect() {
        // While the store is down the gauge reads NaN (unknown) rather than failing the whole scrape.
        this.set(await store.countQueued().catch(() => NaN));
      },
    });
    this.runsResumed = new Counter({
      name: METRIC_NAMES.runsResumed,
      help: 'Durable runs this node resumed after they lost their node, by agent and reason (node_lost, restart).',
      labelNames: ['agent', 'reason'],
      registers,
    });
    this.socketDisconnects = new Counter({
      name: METRIC_NAMES.socketDisconnects,
      help: 'Sockets this node closed on its own, by reason (slow_consumer: SOCKET_MAX_BUFFERED_BYTES unsent; session_expired: the token expired).',
      labelNames: ['reason'],
      registers,
    });
    this.socketRefusals = new Counter({
      name: METRIC_NAMES.socketRefusals,
      help: 'Socket handshakes this node refused, by reason (unauthorized, too_many_connections).',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: METRIC_NAMES.storeBacklog,
      help: 'Events waiting in memory to be stored (grows while the store is down; new runs are refused at STORE_BACKLOG_MAX_EVENTS).',
      registers,
      collect() {
        this.set(writer.pendingCount);
      },
    });
    this.runsDeleted = new Counter({
      name: METRIC_NAMES.runsDeleted,
      help: 'Runs this node deleted from the store with their events, by reason (retention: older than RUN_RETENTION_DAYS; thread_deleted: DELETE /threads/:threadId).',
      labelNames: ['reason'],
      registers,
    });
    this.llmTokens = new Counter({
      name: METRIC_NAMES.llmTokens,
      help: 'Model tokens used by runs on this node, by agent, model and kind (input, output), as the provider reported them.',
      labelNames: ['agent', 'model', 'kind'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleInit(): void {
    this.unsubscribe.push(this.lifecycle.observe(this));
    this.unsubscribe.push(this.bus.subscribeAll((event) => this.countEvent(event)));
    this.unsubscribe.push(this.deletions.observe((count, reason) => this.runsDeleted.inc({ reason }, count)));
  }

  onModuleDestroy(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
  }

  runStarted(run: RunLifecycleInfo): void {
    this.runsStarted.inc({ agent: run.agent });
  }

  runEnded(run: RunLifecycleInfo, { outcome, durationMs }: RunEnding): void {
    const label = OUTCOME_LABEL[outcome.kind];
    this.runsEnded.inc({ agent: run.agent, outcome: label, code: outcome.kind === 'error' ? outcome.code : '' });
    this.runDuration.observe({ agent: run.agent, outcome: label }, durationMs / 1000);
  }

  runResumed(run: RunLifecycleInfo, resumed: AgentResumedData): void {
    this.runsResumed.inc({ agent: run.agent, reason: resumed.reason });
  }

  runDequeued(run: RunLifecycleInfo, waitedMs: number): void {
    this.queueWait.observe({ agent: run.agent }, waitedMs / 1000);
  }

  /** Counts a socket the server closed on its own. */
  socketDisconnected(reason: SocketDisconnectReason): void {
    this.socketDisconnects.inc({ reason });
  }

  /** Counts one model call's tokens. */
  tokensUsed(agent: string, model: string, inputTokens: number, outputTokens: number): void {
    if (inputTokens > 0) this.llmTokens.inc({ agent, model, kind: 'input' }, inputTokens);
    if (outputTokens > 0) this.llmTokens.inc({ agent, model, kind: 'output' }, outputTokens);
  }

  /** Counts a refused socket handshake. */
  socketRefused(reason: SocketRefusalReason): void {
    this.socketRefusals.inc({ reason });
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private countEvent(event: AgentEventEnvelope): void {
    this.eventsByType.get(event.type)?.inc();
  }
}
