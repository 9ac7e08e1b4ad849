/**
 * The public API of the agent pipeline. Code outside `src/pipeline` imports from here only;
 * nothing inside the pipeline imports this file.
 */
export { AgentPipelineModule } from './pipeline.module';
export type { AgentPipelineOptions, ResolvedPipelineOptions } from './pipeline.options';
export { PIPELINE_DEFAULTS } from './pipeline.options';
export { PIPELINE_OPTIONS, RUN_STORE } from './pipeline.tokens';
export { Agent } from './agents/agent.decorator';
export { AgentResult } from './agents/agent-result';
export type { AgentHandler, AgentOptions, AgentRunContext } from './agents/agent.interface';
export { AgentRegistry } from './agents/agent.registry';
export type { RegisteredAgent } from './agents/agent.registry';
export { AgentWebSocketBridge } from './bridge/agent-websocket.bridge';
export { createRedisClient, REDIS_CLIENT } from './cluster/redis-client.provider';
export type { ExecutionHandle, RunInit } from './bridge/agent-websocket.bridge';
export { engineConnection, forceCloseConnection } from './emitter/engine-connection';
export type { EngineConnection, EnginePacket, EngineTransport } from './emitter/engine-connection';
export { EventPublisher } from './emitter/event-publisher';
export { RunEventBus } from './emitter/run-event.bus';
export type { RunEventListener } from './emitter/run-event.bus';
export { SocketRoomPublisher } from './emitter/socket-room.publisher';
export { UserEmitter } from './emitter/user.emitter';
export { userRoom } from './emitter/user-room';
export { PipelineError, toPipelineError } from './errors/pipeline.error';
export * from './events/agent-event.types';
export * from './events/error-codes';
export * from './events/socket-protocol.types';
export { InjectExecutionContext } from './execution/inject-execution-context.decorator';
export { RequestScopedOrchestrator } from './execution/request-scoped.orchestrator';
export type { RunEnding } from './execution/request-scoped.orchestrator';
export type { RunOutcome } from './execution/run-outcome';
export type { UserExecutionContext } from './execution/user-execution.context';
export { WebSocketNotifier } from './execution/websocket.notifier';
export type { AgentNotifier } from './execution/websocket.notifier';
export { AgentService, USER_CANCEL_REASON } from './runs/agent.service';
export type { DescribedRun, ResumedRun, StartedRun, StartRunRequest } from './runs/agent.service';
export type {
  ApprovalInterruptRequest,
  InputInterruptRequest,
  InterruptFn,
  InterruptOutcome,
  InterruptRequest,
} from './interrupts/interrupt.types';
export { NODE_ID } from './runs/node-id.token';
export { RunAdmission } from './runs/run-admission.service';
export { RunCommandBus } from './runs/run-command.bus';
export type { RemoteCancelResult, RemoteResume, RemoteResumeResult, ThreadWatch } from './runs/run-command.bus';
export { RunLifecycleHooks } from './runs/run-lifecycle.hooks';
export type { RunLifecycleInfo, RunLifecycleObserver } from './runs/run-lifecycle.hooks';
export { RunRateLimiter } from './runs/run-rate.limiter';
export { RunRecoveryService } from './runs/run-recovery.service';
export { RunRegistry } from './runs/run.registry';
export { ThreadQueueScheduler } from './threads/thread-queue.scheduler';
export type { QueuePlace } from './threads/thread-policy.service';
export { ThreadCatalog } from './threads/thread-catalog.service';
export type { ThreadDetail, ThreadInfo } from './threads/thread-catalog.service';
export { threadTitle, THREAD_TITLE_MAX_CHARS } from './threads/thread-title';
export { RunDeletionHooks } from './store/run-deletion.hooks';
export type { RunDeletionListener, RunDeletionReason } from './store/run-deletion.hooks';
export { RunRetention } from './retention/run-retention.service';
export type { Page } from './store/list-cursor';
export type { ActiveRun } from './runs/run.registry';
export { SHUTDOWN_CANCEL_REASON } from './runs/run-shutdown.service';
export { EventWriteBuffer } from './store/event-write.buffer';
export type {
  CancelledQueuedRun,
  InterruptedRun,
  ListCursor,
  ListRunsQuery,
  ListThreadsQuery,
  PruneBatch,
  NewRun,
  ReadyThread,
  RunRecord,
  RunStore,
  ThreadRun,
  ThreadSummary,
  ThreadTransaction,
} from './store/run-store.interface';
export { openRunStore, parseDatabaseUrl } from './store/run-store.factory';
export { sanitizeJson, jsonByteLength } from './validation/json-payload';
export { validatePayload, validationFailed } from './validation/validate-payload';
export { checkSchema, validateJson } from './validation/json-schema.validator';
export type { JsonSchema } from './validation/json-schema.validator';
export type { FieldError } from './validation/validate-payload';
