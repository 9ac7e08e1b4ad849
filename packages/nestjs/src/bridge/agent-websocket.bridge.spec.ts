import { Inject, Injectable, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Agent } from '../agents/agent.decorator';
import type { AgentHandler, AgentRunContext } from '../agents/agent.interface';
import type { UserExecutionContext } from '../execution/user-execution.context';
import { AgentPipelineModule } from '../agent-pipeline.module';
import { createPipelineTestHarness, PipelineTestHarness } from '../testing';
import { AgentWebSocketBridge } from './agent-websocket.bridge';

/** Waits on the run's signal; lets tests hold a run open and end it when they choose. */
@Agent({ name: 'wait', description: 'Waits until cancelled.' })
class WaitAgent implements AgentHandler {
  run({ signal }: AgentRunContext): Promise<never> {
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
}

@Agent({ name: 'steps', description: 'Reports two steps and returns its input.' })
class StepsAgent implements AgentHandler {
  async run({ input, notifier }: AgentRunContext): Promise<unknown> {
    notifier.thinking('one');
    await new Promise((r) => setImmediate(r));
    notifier.thinking('two');
    return input;
  }
}

/** A request-scoped dependency: one per run, and it sees that run's context. */
@Injectable({ scope: Scope.REQUEST })
class RunScopedCounter {
  static created = 0;
  readonly serial = ++RunScopedCounter.created;
  constructor(@Inject(REQUEST) readonly context: UserExecutionContext) {}
}

@Agent({ name: 'scoped', description: 'Injects a request-scoped provider.' })
class ScopedAgent implements AgentHandler {
  constructor(private readonly counter: RunScopedCounter) {}
  run(): unknown {
    return { serial: this.counter.serial, runId: this.counter.context.runId, userId: this.counter.context.userId };
  }
}

describe('AgentWebSocketBridge: per-run DI', () => {
  let harness: PipelineTestHarness;

  beforeEach(async () => {
    harness = await createPipelineTestHarness({ providers: [WaitAgent, StepsAgent, ScopedAgent, RunScopedCounter] });
  });
  afterEach(() => harness.close());

  it('resolves a distinct orchestrator and notifier per run from one bridge instance', async () => {
    const bridge = harness.module.get(AgentWebSocketBridge);
    expect(harness.module.get(AgentWebSocketBridge)).toBe(bridge);
    const a = await bridge.createExecutionOrchestrator('alice', 'steps');
    const b = await bridge.createExecutionOrchestrator('alice', 'steps');
    expect(a).not.toBe(b);
    const ca = a.createExecutionContext();
    const cb = b.createExecutionContext();
    expect(ca.notifier).not.toBe(cb.notifier);
    expect(ca.context.runId).not.toBe(cb.context.runId);
    expect(ca.context.userId).toBe('alice');
    // Resolving twice from the same context would give the same instance; two runs never share one.
    expect(harness.bridge).toBe(bridge);
  });

  it('keeps no per-user state in the bridge', async () => {
    const before = Object.keys(harness.bridge).sort();
    await harness.runAndCollect('steps', 1, { userId: 'alice' });
    await harness.runAndCollect('steps', 2, { userId: 'bob' });
    expect(Object.keys(harness.bridge).sort()).toEqual(before);
    // Only its injected singletons: no map, set or array that could collect users or runs.
    expect(before).toEqual(['agents', 'emitters', 'moduleRef']);
    for (const value of Object.values(harness.bridge)) {
      expect(value instanceof Map || value instanceof Set || Array.isArray(value)).toBe(false);
    }
  });

  it('lets the run instances be garbage-collected after the run ends', async () => {
    const gc = (global as { gc?: () => void }).gc;
    if (!gc) throw new Error('Run Jest with node --expose-gc (npm test does) so this test can force a collection.');
    const refs: WeakRef<object>[] = [];
    // In its own function so that no stack slot of this test keeps the last run alive.
    const runOnce = async (i: number) => {
      const { orchestrator, agent } = await harness.bridge.createExecution(`user-${i}`, 'scoped', { input: i });
      refs.push(new WeakRef(orchestrator), new WeakRef(orchestrator.createExecutionContext().notifier), new WeakRef(agent as object));
      await orchestrator.execute(agent);
    };
    for (let i = 0; i < 5; i++) await runOnce(i);
    for (let i = 0; i < 10 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });

  it('sends each user’s events only to that user’s room, under concurrency', async () => {
    const users = ['alice', 'bob', 'carol'];
    const runs = await Promise.all(users.flatMap((userId) => [1, 2, 3].map((n) => harness.runAndCollect('steps', { n }, { userId }))));
    for (const [i, run] of runs.entries()) {
      const userId = users[Math.floor(i / 3)];
      expect(harness.recorder.roomsOf(run.runId)).toEqual([`user:${userId}`]);
      expect(run.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(run.events.map((e) => e.type)).toEqual(['agent_started', 'agent_thinking', 'agent_thinking', 'agent_completed']);
      expect(run.events.every((e) => e.runId === run.runId && e.threadId === run.threadId)).toBe(true);
    }
  });

  it('emits one terminal event when completeExecution is called twice', async () => {
    const { orchestrator, agent } = await harness.bridge.createExecution('alice', 'wait');
    void orchestrator.execute(agent);
    const { context } = orchestrator.createExecutionContext();
    const first = orchestrator.completeExecution(context, { kind: 'completed', result: 'first' });
    const second = orchestrator.completeExecution(context, { kind: 'cancelled', reason: 'second' });
    const [a, b] = await Promise.all([first, second]);
    expect(a.outcome).toEqual({ kind: 'completed', result: 'first' });
    expect(b).toBe(a);
    await new Promise((r) => setTimeout(r, 20));
    const events = harness.recorder.eventsOf(context.runId);
    expect(events.filter((e) => ['agent_completed', 'agent_error', 'agent_cancelled'].includes(e.type))).toHaveLength(1);
    expect(events[events.length - 1]).toMatchObject({ type: 'agent_completed', data: { result: 'first' } });
    expect(context.signal.aborted).toBe(false);
  });

  it('drops events an agent emits after its run ended', async () => {
    const { orchestrator, agent } = await harness.bridge.createExecution('alice', 'wait');
    void orchestrator.execute(agent);
    const { context, notifier } = orchestrator.createExecutionContext();
    await orchestrator.cancel('user');
    expect(context.signal.aborted).toBe(true);
    notifier.thinking('too late');
    notifier.messageDelta('too late');
    const events = harness.recorder.eventsOf(context.runId);
    expect(events.map((e) => e.type)).toEqual(['agent_started', 'agent_cancelled']);
  });

  it('gives an agent that injects a request-scoped provider its own instance per run', async () => {
    const a = await harness.runAndCollect('scoped', null, { userId: 'alice' });
    const b = await harness.runAndCollect('scoped', null, { userId: 'bob' });
    const ra = a.terminal.data as { result: { serial: number; runId: string; userId: string } };
    const rb = b.terminal.data as { result: { serial: number; runId: string; userId: string } };
    expect(ra.result.serial).not.toBe(rb.result.serial);
    expect(ra.result).toMatchObject({ runId: a.runId, userId: 'alice' });
    expect(rb.result).toMatchObject({ runId: b.runId, userId: 'bob' });
  });

  it('keeps the caller’s thread id and makes ids once', async () => {
    const run = await harness.runAndCollect('steps', 'x', { threadId: 'thread-1' });
    expect(run.threadId).toBe('thread-1');
    expect(new Set(run.events.map((e) => `${e.runId}/${e.threadId}`))).toEqual(new Set([`${run.runId}/thread-1`]));
  });
});

describe('AgentRegistry at start-up', () => {
  @Agent({ name: 'twin', description: 'first' })
  class TwinA implements AgentHandler {
    run(): null {
      return null;
    }
  }
  @Agent({ name: 'twin', description: 'second' })
  class TwinB implements AgentHandler {
    run(): null {
      return null;
    }
  }

  it('refuses two agents with the same name, naming both', async () => {
    const module = await Test.createTestingModule({
      imports: [AgentPipelineModule.forRoot({ databaseUrl: 'sqlite::memory:', auth: { development: true }, socket: false, http: false })],
      providers: [TwinA, TwinB],
    }).compile();
    await expect(module.init()).rejects.toThrow(/Two agents are named 'twin': Twin[AB] and Twin[AB]/);
    await module.close().catch(() => undefined);
  });

  it('suggests the closest name for an unknown agent', async () => {
    const harness = await createPipelineTestHarness({ providers: [StepsAgent] });
    await expect(harness.agents.start('alice', { agent: 'stpes' })).rejects.toMatchObject({
      code: 'UNKNOWN_AGENT',
      message: expect.stringContaining("Did you mean 'steps'?"),
    });
    await harness.close();
  });
});
