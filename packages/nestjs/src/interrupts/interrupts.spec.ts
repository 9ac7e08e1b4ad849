import { Agent } from '../agents/agent.decorator';
import type { AgentHandler, AgentRunContext } from '../agents/agent.interface';
import type { AgentEventEnvelope, InterruptRequestedData } from '@agent-pipeline/protocol';
import { createPipelineTestHarness, type PipelineTestHarness } from '../testing/pipeline-test.harness';

/** Asks for a city (an `input` question with a schema) and answers with it. */
@Agent({ name: 'city-asker', description: 'Asks which city.' })
class CityAskerAgent implements AgentHandler<unknown, string> {
  async run({ interrupt, notifier }: AgentRunContext): Promise<string> {
    const answer = await interrupt<{ city: string }>({
      kind: 'input',
      message: 'Which city?',
      responseSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    });
    notifier.thinking(`Got ${answer.resolution}`);
    return answer.resolution === 'answered' ? `weather in ${answer.response!.city}` : 'no city';
  }
}

describe('interrupts through the pipeline (DI-level, real store)', () => {
  let harness: PipelineTestHarness;
  beforeAll(async () => {
    // A short run timeout: waiting far longer than it must not time the run out.
    harness = await createPipelineTestHarness({ providers: [CityAskerAgent], pipeline: { runTimeoutMs: 150 } });
  });
  afterAll(() => harness.close());

  async function asked(runId: string): Promise<InterruptRequestedData> {
    for (let i = 0; i < 200; i++) {
      const event = harness.recorder.eventsOf(runId).find((e) => e.type === 'interrupt_requested') as
        AgentEventEnvelope<'interrupt_requested'> | undefined;
      if (event) return event.data;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('no interrupt_requested');
  }

  it('keeps an input question open on a response that breaks its schema, then takes a good one', async () => {
    const started = await harness.agents.start('alice', { agent: 'city-asker' });
    const question = await asked(started.runId);
    expect(question).toMatchObject({ kind: 'input', message: 'Which city?', responseSchema: { required: ['city'] } });
    expect(await harness.agents.describeRun('alice', started.runId)).toMatchObject({ status: 'waiting', interrupt: question });

    await expect(harness.agents.resume('alice', started.runId, question.interruptId, { response: { town: 'Lyon' } })).rejects.toMatchObject(
      {
        code: 'VALIDATION_FAILED',
      },
    );
    await expect(harness.agents.resume('bob', started.runId, question.interruptId, { response: { city: 'Lyon' } })).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
    });
    // Three times RUN_TIMEOUT_MS spent waiting: the run is still there.
    await new Promise((r) => setTimeout(r, 450));
    expect((await harness.agents.getRun('alice', started.runId)).status).toBe('waiting');

    await expect(harness.agents.resume('alice', started.runId, question.interruptId, { response: { city: 'Lyon' } })).resolves.toEqual({
      runId: started.runId,
      interruptId: question.interruptId,
      resolution: 'answered',
    });
    const ending = await started.done;
    expect(ending.outcome).toEqual({ kind: 'completed', result: 'weather in Lyon' });
    const types = harness.recorder.eventsOf(started.runId).map((e) => e.type);
    expect(types).toEqual(['agent_started', 'interrupt_requested', 'interrupt_resolved', 'agent_thinking', 'agent_completed']);
    expect(harness.recorder.eventsOf(started.runId)[2].data).toEqual({
      interruptId: question.interruptId,
      resolution: 'answered',
      response: { city: 'Lyon' },
    });
    expect(harness.recorder.roomsOf(started.runId)).toEqual(['user:alice']);
  });

  it('counts the run timeout again once the question is answered', async () => {
    @Agent({ name: 'asks-then-stalls', description: 'Asks, then never finishes.' })
    class StallingAgent implements AgentHandler {
      async run({ interrupt, signal }: AgentRunContext): Promise<never> {
        await interrupt({ kind: 'approval', message: 'Go?' });
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
    }
    const stalling = await createPipelineTestHarness({ providers: [StallingAgent], pipeline: { runTimeoutMs: 150 } });
    try {
      const started = await stalling.agents.start('alice', { agent: 'asks-then-stalls' });
      let question: InterruptRequestedData | undefined;
      while (!question) {
        question = stalling.recorder.eventsOf(started.runId).find((e) => e.type === 'interrupt_requested')?.data as InterruptRequestedData;
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 300));
      await stalling.agents.resume('alice', started.runId, question.interruptId, { approved: true });
      const ending = await started.done;
      expect(ending.outcome).toMatchObject({ kind: 'error', code: 'TIMEOUT' });
    } finally {
      await stalling.close();
    }
  });
});
