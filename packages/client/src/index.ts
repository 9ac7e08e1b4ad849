/**
 * The agent pipeline's client: a typed Socket.IO client with exactly-once resume, for Node and
 * browsers. It imports nothing from the server but the shared wire types (`src/pipeline/events`).
 */
export { AgentPipelineClient } from './agent-pipeline.client';
export type {
  AgentPipelineConnectOptions,
  AgentRun,
  ConnectionStatus,
  ConnectionStatusChange,
  FollowedRun,
  FollowOptions,
  RawEventHandler,
  ReplayResult,
  ResumeResult,
  RunEvents,
  StartedRunInfo,
  StartRunOptions,
} from './agent-pipeline.client';
export { AgentPipelineError, isAgentPipelineError } from './agent-pipeline.error';
export type { ListThreadsOptions, RunSnapshot, ThreadEntry, ThreadPage, ThreadWithRuns } from './threads.http';
export type { AgentPipelineErrorCode, ClientErrorCode } from './agent-pipeline.error';
export { RunEventSequencer } from './run-event.sequencer';
export * from '@agent-pipeline/protocol';
export * from '@agent-pipeline/protocol';
export * from '@agent-pipeline/protocol';
