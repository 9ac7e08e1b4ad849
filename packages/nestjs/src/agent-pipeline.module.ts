import { DynamicModule, Module, Provider } from '@nestjs/common';
import { DiscoveryModule, RouterModule } from '@nestjs/core';
import { AuthRoutesModule } from './auth/auth-routes.module';
import { BearerAuthGuard } from './auth/bearer-auth.guard';
import { TokenService } from './auth/token.service';
import { AgentPipelineHealthIndicator } from './observability/health/agent-pipeline.health';
import { AgentPipelineMetrics } from './observability/metrics/agent-pipeline.metrics';
import { AgUiTransportModule } from './transport/ag-ui/ag-ui-transport.module';
import { AiSdkTransportModule } from './transport/ai-sdk/ai-sdk-transport.module';
import { HttpTransportModule } from './transport/http/http-transport.module';
import { HTTP_PATH, PipelineBodyParser } from './transport/http/pipeline-body.parser';
import { SocketTransportModule } from './transport/socket/socket-transport.module';
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
import { PIPELINE_OPTIONS, RUN_STORE } from './pipeline.tokens';
import { AGENTS_NAMESPACE } from '@agent-pipeline/protocol';
import { AgentInputValidator } from './runs/agent-input.validator';
import { AgentService } from './runs/agent.service';
import type Redis from 'ioredis';
import { NODE_ID } from './runs/node-id.token';
import { makeNodeId } from './runs/node-identity';
import { RunAdmission } from './runs/run-admission.service';
import { RunCommandBus } from './runs/run-command.bus';
import { RunLifecycleHooks } from './runs/run-lifecycle.hooks';
import { RunRateLimiter } from './runs/run-rate.limiter';
import { RunRecoveryService } from './runs/run-recovery.service';
import { RunShutdownService } from './runs/run-shutdown.service';
import { RunRegistry } from './runs/run.registry';
import { RunLauncher } from './runs/run.launcher';
import { RunEndWaiter } from './threads/run-end.waiter';
import { InterruptAnswerRouter } from './interrupts/interrupt-answer.router';
import { ThreadPolicy } from './threads/thread-policy.service';
import { ThreadQueueScheduler } from './threads/thread-queue.scheduler';
import { ThreadCatalog } from './threads/thread-catalog.service';
import { RunDeletionHooks } from './store/run-deletion.hooks';
import { RunRetention } from './retention/run-retention.service';
import { EventWriteBuffer } from './store/event-write.buffer';
import { openRunStore } from './store/run-store.factory';
import { RunStoreLifecycle } from './store/run-store.lifecycle';

const providers: Provider[] = [
  {
    provide: PIPELINE_OPTIONS,
    inject: [PIPELINE_MODULE_OPTIONS],
    useFactory: (options: AgentPipelineOptions) => resolvePipelineOptions(options),
  },
  {
    provide: RUN_STORE,
    inject: [PIPELINE_OPTIONS],
    useFactory: (options: ResolvedPipelineOptions) => openRunStore(options.databaseUrl),
  },
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
  ThreadQueueScheduler,
  ThreadPolicy,
  ThreadCatalog,
  RunDeletionHooks,
  RunRetention,
  AgentService,
  RunRecoveryService,
  RunShutdownService,
  TokenService,
  BearerAuthGuard,
  AgentPipelineMetrics,
  AgentPipelineHealthIndicator,
];

/** Every route of the HTTP API, under one module so that `http.path` prefixes them all. */
@Module({})
class PipelineHttpModule {
  static register(path: string): DynamicModule {
    return {
      module: PipelineHttpModule,
      imports: [HttpTransportModule, AgUiTransportModule, AiSdkTransportModule, AuthRoutesModule],
      providers: [{ provide: HTTP_PATH, useValue: path }, PipelineBodyParser],
    };
  }
}

/** `'/x/y'` for `'x/y/'`, `''` for none. */
function normalizePath(path: string | undefined): string {
  const trimmed = (path ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/** Adds what the extras (`socket`, `http`) ask for to the module the builder made. */
function withTransports(definition: DynamicModule, extras: AgentPipelineModuleExtras): DynamicModule {
  const imports: NonNullable<DynamicModule['imports']> = [...(definition.imports ?? [])];
  if (extras.socket !== false) imports.push(SocketTransportModule.register(extras.socket?.namespace ?? AGENTS_NAMESPACE));
  if (extras.http !== false) {
    const path = normalizePath(extras.http?.path);
    imports.push(PipelineHttpModule.register(path));
    if (path !== '') {
      imports.push(
        RouterModule.register([
          {
            path,
            module: PipelineHttpModule,
            children: [HttpTransportModule, AgUiTransportModule, AiSdkTransportModule, AuthRoutesModule],
          },
        ]),
      );
    }
  }
  // Global: agents in any module of the app inject the pipeline's services, and its transports see them.
  return { ...definition, global: true, imports };
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
