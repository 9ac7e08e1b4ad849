import { Injectable } from '@nestjs/common';
import { AgentWebSocketBridge, type ExecutionHandle, type RunInit } from '../bridge/agent-websocket.bridge';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import { RunLifecycleHooks, type RunLifecycleInfo } from './run-lifecycle.hooks';
import { RunRegistry } from './run.registry';

/** A run about to execute on this node: its identity and validated input. */
export interface LaunchableRun extends RunLifecycleInfo {
  readonly input: unknown;
  /** The W3C trace context the run continues (stored with it). */
  readonly traceparent?: string;
}

/**
 * Starts runs on this node, in two steps: {@link prepare} creates the run's DI subtree (nothing
 * is emitted yet), {@link launch} hands it to the registry and the lifecycle hooks and executes
 * it on the next macrotask. Shared by fresh starts and by queued runs leaving their thread's
 * queue, so both execute the same way. The caller has reserved the run's slot in the registry.
 */
@Injectable()
export class RunLauncher {
  constructor(
    private readonly bridge: AgentWebSocketBridge,
    private readonly registry: RunRegistry,
    private readonly lifecycle: RunLifecycleHooks,
  ) {}

  /** Creates the run's orchestrator and agent in a fresh DI context (for a resumed run, with what its earlier attempts stored). */
  prepare(run: LaunchableRun, resumed?: Pick<RunInit, 'resume' | 'createdAt'>): Promise<ExecutionHandle> {
    return this.bridge.createExecution(run.userId, run.agent, {
      runId: run.runId,
      threadId: run.threadId,
      input: run.input,
      traceparent: run.traceparent,
      ...resumed,
    });
  }

  /**
   * Executes a prepared run; resolves when its terminal event is stored and published (or, for a
   * durable run, when its node suspends it at shutdown). A resumed run is not reported as started again.
   */
  launch(run: RunLifecycleInfo, { orchestrator, agent }: ExecutionHandle, options: { resumed?: boolean } = {}): Promise<RunEnding> {
    const active = this.registry.get(run.runId);
    if (active) active.orchestrator = orchestrator;
    const done = orchestrator.done;
    // The run's span opens here, so that its lifecycle lines carry its trace ids.
    const trace = orchestrator.beginTrace();
    const info: RunLifecycleInfo = {
      runId: run.runId,
      userId: run.userId,
      agent: run.agent,
      threadId: run.threadId,
      ...(trace && { trace }),
    };
    void done.then((ending) => {
      this.registry.remove(run.runId);
      if (!ending.suspended) this.lifecycle.ended(info, ending);
    });
    if (!options.resumed) this.lifecycle.started(info);
    // Next macrotask: the caller's ack is written to the socket before agent_started.
    setImmediate(() => void orchestrator.execute(agent));
    return done;
  }
}
