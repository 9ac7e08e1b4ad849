import { DynamicModule, Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { transportModules } from './transport/pipeline-transports';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { TokenService } from './auth/token.service';
import { AgentPipelineHealthIndicator } from './observability/health/agent-pipeline.health';
import { AgentPipelineMetrics } from './observability/metrics/agent-pipeline.metrics';
import { AgentRegistry } from './agents/agent.registry';
import { AgentWebSocketBridge } from './bridge/agent-websocket.bridge';
import { REDIS_CLIENT, redisClientProvider } from './cluster/redis-client.provider';
import { RedisLifecycle } from './cluster/redis-lifecycle.service';
import { RedisRunCommandBus } from './cluster/redis-run-command.bus';
import { EventPublisher } from './emitter/event-publisher';
import { RunEventBus } from './emitter/run-event.bus';
import { SocketRoomPublisher } from './emitter/socket-room.publisher';
import { UserEmitterFactory } from './emitter/user-emitter.factory';
import { RequestScopedOrchestrator } from './execution/request-scoped.orchestrator';
import { RunServices } from './execution/run-services';
import { WebSocketNotifier } from './execution/websocket.notifier';
import {
  AgentPipelineConfigurableModule,
  AgentPipelineModuleExtras,
  AgentPipelineOptions,
  PIPELINE_ASYNC_OPTIONS_TYPE,
  PIPELINE_MODULE_OPTIONS,
  PIPELINE_OPTIONS_TYPE,
  resolvePipelineOptions,
  ResolvedPipelineOptions,
} from './pipeline.options';
import { KYSELY_RUN_STORE, PIPELINE_OPTIONS, RUN_STORE } from './pipeline.tokens';
import { AgentInputValidator } from './runs/agent-input.validator';
import { AgentService } from './runs/agent.service';
import type Redis from 'ioredis';
import { NODE_ID } from './runs/node-id.token';
import { makeNodeId } from './runs/node-identity';
import { RunAdmission } from './runs/run-admission.service';
import { RunCanceller } from './runs/run.canceller';
import { RunReader } from './runs/run.reader';
import { RunStarter } from './runs/run.starter';
import { RunCommandBus } from './runs/run-command.bus';
import { RunLifecycleHooks } from './runs/run-lifecycle.hooks';
import { RunRateLimiter } from './runs/run-rate.limiter';
import { RunRecoveryService } from './runs/run-recovery.service';
import { RunShutdownService } from './runs/run-shutdown.service';
import { RunRegistry } from './runs/run.registry';
import { RunLauncher } from './runs/run.launcher';
import { IdempotentStartGate } from './runs/idempotency/idempotent-start.gate';
import { IdempotentStarts } from './runs/idempotency/idempotent-starts.service';
import { RunEndWaiter } from './threads/run-end.waiter';
import { InterruptAnswerRouter } from './interrupts/interrupt-answer.router';
import { ThreadPolicy } from './threads/thread-policy.service';
import { ThreadQueuePromoter } from './threads/thread-queue.promoter';
import { ThreadQueueScheduler } from './threads/thread-queue.scheduler';
import { ThreadQueueWatch } from './threads/thread-queue.watch';
import { ThreadCatalog } from './threads/thread-catalog.service';
import { RunDeletionHooks } from './store/run-deletion.hooks';
import { RunRetention } from './retention/run-retention.service';
import { EventWriteBuffer } from './store/event-write.buffer';
import { openRunStore } from './store/run-store.factory';
import { BufferedRunStore } from './store/run-store.buffered';
import { RunStoreLifecycle } from './store/run-store.lifecycle';
import { DurableRunResumer } from './durable/durable-run.resumer';
import { EndedRunAnnouncer } from './runs/ended-run.announcer';
import { RunTracer } from './observability/tracing/run-tracer';
import { RunBudget } from './usage/run-budget.service';
import { UsageReports } from './usage/usage-report.service';
import { UsageRecorder } from './usage/usage.recorder';

const providers: Provider[] = [
  {
    provide: PIPELINE_OPTIONS,
    inject: [PIPELINE_MODULE_OPTIONS],
    useFactory: (options: AgentPipelineOptions) => resolvePipelineOptions(options),
  },
  {
    provide: KYSELY_RUN_STORE,
    inject: [PIPELINE_OPTIONS],
    useFactory: (options: ResolvedPipelineOptions) => openRunStore(options.databaseUrl),
  },
  // What everything else (apps and tests too) reads and writes: the database behind the write buffer.
  { provide: RUN_STORE, useClass: BufferedRunStore },
  { provide: NODE_ID, useFactory: makeNodeId },
  redisClientProvider,
  RedisLifecycle,
  SocketRoomPublisher,
  { provide: EventPublisher, useExisting: SocketRoomPublisher },
  RunEventBus,
  UserEmitterFactory,
  EventWriteBuffer,
  RunStoreLifecycle,
  AgentRegistry,
  AgentWebSocketBridge,
  RequestScopedOrchestrator,
  RunServices,
  WebSocketNotifier,
  RunRegistry,
  RunRateLimiter,
  RunAdmission,
  AgentInputValidator,
  {
    provide: RunCommandBus,
    inject: [REDIS_CLIENT, RunRegistry, NODE_ID],
    useFactory: (redis: Redis | null, registry: RunRegistry, nodeId: string) =>
      redis ? new RedisRunCommandBus(redis, registry, nodeId) : new RunCommandBus(),
  },
  RunLifecycleHooks,
  RunLauncher,
  RunEndWaiter,
  InterruptAnswerRouter,
  ThreadQueueWatch,
  ThreadQueuePromoter,
  ThreadQueueScheduler,
  ThreadPolicy,
  ThreadCatalog,
  RunDeletionHooks,
  RunRetention,
  IdempotentStartGate,
  IdempotentStarts,
  RunStarter,
  RunReader,
  RunCanceller,
  AgentService,
  EndedRunAnnouncer,
  DurableRunResumer,
  RunRecoveryService,
  RunShutdownService,
  TokenService,
  BearerAuthGuard,
  AgentPipelineMetrics,
  AgentPipelineHealthIndicator,
  UsageRecorder,
  RunTracer,
  RunBudget,
  UsageReports,
];

/** Adds what the extras (`socket`, `http`) ask for to the module the builder made. */
function withTransports(definition: DynamicModule, extras: AgentPipelineModuleExtras): DynamicModule {
  // Global: agents in any module of the app inject the pipeline's services, and its transports see them.
  return { ...definition, global: true, imports: [...(definition.imports ?? []), ...transportModules(extras)] };
}

/**
 * The agent pipeline: per-run DI, agents, runs, store, threads, interrupts, auth, the Socket.IO
 * gateway and the HTTP / SSE / AG-UI / AI SDK routes. Import it once, in the app's root module:
 *
 * ```ts
 * AgentPipelineModule.forRoot({ databaseUrl: 'sqlite:./data/runs.db', auth: { jwtSecret: process.env.JWT_SECRET! } })
 * // or, from configuration:
 * AgentPipelineModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ databaseUrl: config.get('DATABASE_URL'), auth: { jwksUrl: config.get('JWKS_URL') } }),
 *   http: { path: 'api' },
 * })
 * ```
 *
 * It is global, and needs nothing in the app's `main.ts` beyond `NestFactory.create` and `listen`:
 * it sets up its own Socket.IO server (and, with `redisUrl`, its Redis adapter), parses and limits
 * the bodies of its routes, and answers their errors with the contract's bodies.
 */
@Module({
  imports: [DiscoveryModule],
  providers,
  exports: [
    PIPELINE_OPTIONS,
    RUN_STORE,
    NODE_ID,
    REDIS_CLIENT,
    AgentService,
    AgentWebSocketBridge,
    AgentRegistry,
    EventPublisher,
    SocketRoomPublisher,
    RunEventBus,
    RunRegistry,
    EventWriteBuffer,
    RunRateLimiter,
    RunAdmission,
    RunCommandBus,
    RunLifecycleHooks,
    ThreadQueueScheduler,
    ThreadCatalog,
    RunDeletionHooks,
    TokenService,
    BearerAuthGuard,
    AgentPipelineMetrics,
    AgentPipelineHealthIndicator,
    UsageReports,
  ],
})
export class AgentPipelineModule extends AgentPipelineConfigurableModule {
  /** The pipeline with these options (every setting, `auth`, and the `socket` / `http` extras). */
  static override forRoot(options: typeof PIPELINE_OPTIONS_TYPE): DynamicModule {
    return withTransports(super.forRoot(options), options);
  }

  /** The pipeline with options from a factory; `socket` and `http` are given here, beside it. */
  static override forRootAsync(options: typeof PIPELINE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withTransports(super.forRootAsync(options), options);
  }
}
