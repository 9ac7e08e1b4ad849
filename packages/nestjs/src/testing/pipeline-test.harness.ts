import type { DynamicModule, ModuleMetadata, Provider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { AgentWebSocketBridge } from '../bridge/agent-websocket.bridge';
import { EventPublisher } from '../emitter/event-publisher';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import { AgentPipelineModule } from '../agent-pipeline.module';
import type { AgentPipelineOptions } from '../pipeline.options';
import { AgentService } from '../runs/agent.service';
import { RecordingEventPublisher } from './recording-event.publisher';

/** Options of {@link createPipelineTestHarness}. */
export interface PipelineTestHarnessOptions {
  /** Agent classes (and anything else) to provide next to the pipeline. */
  providers?: Provider[];
  /** Modules to import (for example a module of agents). */
  imports?: ModuleMetadata['imports'];
  /**
   * Pipeline options. Defaults here: the store in memory (`sqlite::memory:`), no rate limit, and
   * `auth` that refuses every token (the harness starts runs directly; nobody connects).
   */
  pipeline?: Partial<AgentPipelineOptions>;
}

/** What {@link PipelineTestHarness.runAndCollect} returns. */
export interface CollectedRun {
  runId: string;
  threadId: string;
  /** Every event of the run, in order, as published to the user's room. */
  events: AgentEventEnvelope[];
  /** The run's terminal event. */
  terminal: AgentEventEnvelope;
  ending: RunEnding;
}

/** A compiled pipeline with a recording publisher in place of Socket.IO. */
export interface PipelineTestHarness {
  module: TestingModule;
  recorder: RecordingEventPublisher;
  agents: AgentService;
  bridge: AgentWebSocketBridge;
  /** Runs `agent` with `input` for `userId` (default `test-user`) and waits for its end. */
  runAndCollect(agent: string, input?: unknown, options?: { userId?: string; threadId?: string }): Promise<CollectedRun>;
  close(): Promise<void>;
}

/**
 * Builds the pipeline for DI-level integration tests of your agents: a real run store (SQLite in
 * memory unless you say otherwise), real per-run DI, and a {@link RecordingEventPublisher} that
 * records which room every event went to.
 *
 * @example
 * const harness = await createPipelineTestHarness({ providers: [MyAgent] });
 * const run = await harness.runAndCollect('my-agent', { text: 'hi' });
 * expect(run.terminal.type).toBe('agent_completed');
 * await harness.close();
 */
export async function createPipelineTestHarness(options: PipelineTestHarnessOptions = {}): Promise<PipelineTestHarness> {
  const recorder = new RecordingEventPublisher();
  const pipeline: DynamicModule = AgentPipelineModule.forRoot({
    databaseUrl: 'sqlite::memory:',
    rateLimitRunsPerMinute: 0,
    auth: { verify: () => null },
    ...options.pipeline,
    // No Socket.IO server and no routes: events go to the recorder, runs start through `agents`.
    socket: false,
    http: false,
  });
  const module = await Test.createTestingModule({
    imports: [pipeline, ...(options.imports ?? [])],
    providers: options.providers ?? [],
  })
    .overrideProvider(EventPublisher)
    .useValue(recorder)
    .compile();
  await module.init();
  const agents = module.get(AgentService);
  return {
    module,
    recorder,
    agents,
    bridge: module.get(AgentWebSocketBridge),
    async runAndCollect(agent, input, runOptions = {}) {
      const started = await agents.start(runOptions.userId ?? 'test-user', { agent, input, threadId: runOptions.threadId });
      const ending = await started.done;
      const events = recorder.eventsOf(started.runId);
      return { runId: started.runId, threadId: started.threadId, events, terminal: events[events.length - 1], ending };
    },
    close: () => module.close(),
  };
}
