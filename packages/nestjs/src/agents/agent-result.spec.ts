import { RUN_STORE } from '../pipeline.tokens';
import type { RunStore } from '../store/run-store.interface';
import { createPipelineTestHarness, type PipelineTestHarness } from '../testing';
import { Agent } from './agent.decorator';
import type { AgentHandler } from './agent.interface';
import { AgentResult } from './agent-result';

@Agent({ name: 'with-extra', description: 'Completes with extra fields.' })
class WithExtraAgent implements AgentHandler<unknown, AgentResult<string>> {
  run(): AgentResult<string> {
    return new AgentResult('done', { usage: { totalTokens: 7 }, result: 'ignored', durationMs: -1 });
  }
}

@Agent({ name: 'wrapped-nothing', description: 'Completes with an AgentResult of undefined.' })
class WrappedNothingAgent implements AgentHandler {
  async run(): Promise<AgentResult> {
    return new AgentResult(undefined);
  }
}

describe('AgentResult', () => {
  let harness: PipelineTestHarness;

  beforeAll(async () => {
    harness = await createPipelineTestHarness({ providers: [WithExtraAgent, WrappedNothingAgent] });
  });

  afterAll(() => harness.close());

  it('adds its extra fields to agent_completed; result and durationMs stay the pipeline’s', async () => {
    const run = await harness.runAndCollect('with-extra');
    expect(run.terminal.type).toBe('agent_completed');
    expect(run.terminal.data).toEqual({ usage: { totalTokens: 7 }, result: 'done', durationMs: expect.any(Number) });
    expect((run.terminal.data as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0);
    const stored = await harness.module.get<RunStore>(RUN_STORE).getRun(run.runId);
    expect(stored).toMatchObject({ status: 'completed', result: 'done' });
  });

  it('stores an undefined result as null, like a plain return', async () => {
    const run = await harness.runAndCollect('wrapped-nothing');
    expect(run.terminal.data).toEqual({ result: null, durationMs: expect.any(Number) });
  });
});
