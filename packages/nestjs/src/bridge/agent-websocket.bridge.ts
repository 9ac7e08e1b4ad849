import { Injectable } from '@nestjs/common';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import type { AgentHandler } from '../agents/agent.interface';
import { AgentRegistry } from '../agents/agent.registry';
import { UserEmitterFactory } from '../emitter/user-emitter.factory';
import type { UserEmitter } from '../emitter/user.emitter';
import { RequestScopedOrchestrator } from '../execution/request-scoped.orchestrator';
import { RunExecutionContext } from '../execution/run-execution.context';
import { newRunIdentity } from '../execution/run-identity';
import type { UserExecutionContext } from '../execution/user-execution.context';
import { RunJournal, type ResumePoint } from '../durable/run-journal';

/** What a run is created with besides its user and agent. */
export interface RunInit {
  /** Made by {@link newRunIdentity} when absent. */
  runId?: string;
  /** The caller's thread; a new one when absent. */
  threadId?: string;
  input?: unknown;
  /** A durable run resumed after losing its node: what its earlier attempts stored. */
  resume?: ResumePoint;
  /** When the run was created (ms since epoch); now for a new run. */
  createdAt?: number;
  /** The W3C trace context the run continues. */
  traceparent?: string;
}

/** A run's orchestrator together with the agent instance resolved in the same DI context. */
export interface ExecutionHandle {
  orchestrator: RequestScopedOrchestrator;
  agent: AgentHandler;
}

/**
 * Creates the per-run DI subtree. A singleton with no per-user fields: everything about a run
 * lives in the subtree, which the garbage collector takes once the run is over.
 *
 * For each run: one `ContextIdFactory.create()` id, the run's {@link UserExecutionContext}
 * registered as its REQUEST, and `RequestScopedOrchestrator` + `WebSocketNotifier` (and any
 * request-scoped agent) resolved under that id.
 */
@Injectable()
export class AgentWebSocketBridge {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly agents: AgentRegistry,
    private readonly emitters: UserEmitterFactory,
  ) {}

  /** Creates a run's orchestrator (and its notifier) in a fresh DI context. */
  async createExecutionOrchestrator(userId: string, agentType: string, init: RunInit = {}): Promise<RequestScopedOrchestrator> {
    return (await this.createExecution(userId, agentType, init)).orchestrator;
  }

  /**
   * Like {@link createExecutionOrchestrator}, and also resolves the agent in the run's context
   * (agents that inject request-scoped providers get their own instance per run).
   */
  async createExecution(userId: string, agentType: string, init: RunInit = {}): Promise<ExecutionHandle> {
    const registered = this.agents.require(agentType);
    const { runId, threadId } = init.runId
      ? { runId: init.runId, threadId: init.threadId ?? newRunIdentity().threadId }
      : newRunIdentity(init.threadId);
    const journal = new RunJournal(registered.durable, init.resume);
    const context = new RunExecutionContext(
      userId,
      runId,
      threadId,
      agentType,
      init.input ?? null,
      journal,
      init.createdAt,
      init.traceparent,
    );
    const contextId = ContextIdFactory.create();
    this.moduleRef.registerRequestByContextId(context, contextId);
    const orchestrator = await this.moduleRef.resolve(RequestScopedOrchestrator, contextId);
    const agent =
      registered.instance ?? (await this.moduleRef.resolve<AgentHandler>(registered.token as never, contextId, { strict: false }));
    return { orchestrator, agent };
  }

  /** The emitter that publishes to room `user:<userId>` of this context's user. */
  createUserEmitter(userContext: Pick<UserExecutionContext, 'userId'>): UserEmitter {
    return this.emitters.create(userContext.userId);
  }
}
