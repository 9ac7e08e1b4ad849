/**
 * `@agent-pipeline/nestjs`: run AI agents for many users at once in a NestJS 11 app, and stream
 * every run to its user over Socket.IO, REST, SSE, AG-UI and the AI SDK. This file is the
 * package's only public door; nothing inside the package imports it.
 */

// The module and its options.
export { AgentPipelineModule } from './agent-pipeline.module';
export type {
  AgentPipelineModuleExtras,
  AgentPipelineOptions,
  PipelineHttpOptions,
  PipelineSocketOptions,
  ResolvedPipelineOptions,
} from './pipeline.options';
export { PIPELINE_DEFAULTS } from './pipeline.options';

// Authentication.
export type { JwtAlgorithmOptions, JwtClaimOptions, PipelineAuthOptions, VerifiedToken } from './auth/auth.options';
export { ASYMMETRIC_ALGORITHMS, DEFAULT_ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS } from './auth/auth.options';
export { BearerAuthGuard } from './auth/bearer-auth.guard';
export type { AuthenticatedRequest } from './auth/bearer-auth.guard';
export { CurrentUser } from './auth/current-user.decorator';
export { TokenRejectedError, TokenService } from './auth/token.service';

// Agents.
export { Agent } from './agents/agent.decorator';
export type { AgentHandler, AgentOptions, AgentRunContext } from './agents/agent.interface';
export { AgentResult } from './agents/agent-result';
export { abortableSleep, throwIfAborted } from './agents/abortable-sleep';
export { agentInputSchema } from './agents/schema/agent-input.schema';
export type { AgentNotifier } from './execution/websocket.notifier';
export { InjectExecutionContext } from './execution/inject-execution-context.decorator';
export type { UserExecutionContext } from './execution/user-execution.context';
export type {
  ApprovalInterruptRequest,
  InputInterruptRequest,
  InterruptFn,
  InterruptOutcome,
  InterruptRequest,
} from './interrupts/interrupt.types';
export type { StepFn, StepOptions } from './durable/durable-step.types';

// Runs: the consumer's entry point, and the per-run DI it is built on.
export { AgentService } from './runs/agent.service';
export type { DescribedRun, ResumedRun, StartedRun, StartRunRequest } from './runs/agent.service';
export { AgentWebSocketBridge } from './bridge/agent-websocket.bridge';
export { RequestScopedOrchestrator } from './execution/request-scoped.orchestrator';
export type { RunEnding } from './execution/request-scoped.orchestrator';
export type { RunOutcome } from './execution/run-outcome';
export { WebSocketNotifier } from './execution/websocket.notifier';
export { PipelineError } from './errors/pipeline.error';
export { PipelineHttpErrorFilter } from './transport/http/http-error.filter';

// The run store, for agents that read a thread's history.
export { RUN_STORE } from './pipeline.tokens';
export type { ListRunsQuery, RunRecord, RunStore, ThreadRun } from './store/run-store.interface';
export type { Page } from './store/list-cursor';

// Operations: health, metrics, lifecycle hooks.
export { AgentPipelineHealthIndicator } from './observability/health/agent-pipeline.health';
export type { PipelineHealthEntry, PipelineHealthResult } from './observability/health/agent-pipeline.health';
export { AgentPipelineMetrics, METRIC_NAMES } from './observability/metrics/agent-pipeline.metrics';
export { RunLifecycleHooks } from './runs/run-lifecycle.hooks';
export type { PipelineTracingOptions } from './observability/tracing/tracing.options';
export type { ModelCallInfo, ModelCallResult, RunTelemetry, ToolCallInfo } from './observability/tracing/run-telemetry';
export type { RunTraceIds } from './observability/tracing/run-observation';
export type { RunLifecycleInfo, RunLifecycleObserver } from './runs/run-lifecycle.hooks';

// JSON Schema checks (tool parameters, interrupt answers).
export { checkSchema, compileJsonSchema, validateJson } from './validation/json-schema.validator';
export type { JsonSchema, JsonSchemaCheck } from './validation/json-schema.validator';

// The wire contract, so that one import serves an app's controllers and tests.
export * from '@agent-pipeline/protocol';
