/**
 * `@agent-pipeline/client`: the agent pipeline's typed client, for Node and browsers — every event
 * of a run exactly once, in `seq` order, across reconnects and server restarts; threads over HTTP.
 * It depends on `socket.io-client` and the wire contract (`@agent-pipeline/protocol`, re-exported
 * here) only.
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
export type { ListRunsOptions, ListThreadsOptions, RunPage, RunSnapshot, ThreadEntry, ThreadPage, ThreadWithRuns } from './threads.http';
export type { AgentPipelineErrorCode, ClientErrorCode } from './agent-pipeline.error';
export { RunEventSequencer } from './run-event.sequencer';
export * from '@agent-pipeline/protocol';
