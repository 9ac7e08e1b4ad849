import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { PipelineError } from '@agent-pipeline/nestjs';
import { createPipelineTestHarness } from '@agent-pipeline/nestjs/testing';
import { GreeterAgent } from './app.module';

/** The greeter tested as its author would: the real pipeline in a Nest testing module, no server. */
async function main(): Promise<void> {
  const harness = await createPipelineTestHarness({ providers: [GreeterAgent] });
  try {
    const run = await harness.runAndCollect('greeter', { name: 'Ada' });
    assert.equal(run.terminal.type, 'agent_completed', `terminal event: ${JSON.stringify(run.terminal)}`);
    assert.equal((run.terminal.data as { result: unknown }).result, 'Hello, Ada!');
    assert.deepEqual(
      run.events.map((e) => e.type),
      ['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed'],
    );
    assert.deepEqual(
      run.events.map((e) => e.seq),
      run.events.map((_, i) => i + 1),
    );
    assert.ok(run.events.every((e) => e.runId === run.runId && e.threadId === run.threadId && e.agent === 'greeter'));
    assert.equal(run.ending.outcome.kind, 'completed');

    await assert.rejects(harness.runAndCollect('greeter', { name: 42 }), (err: unknown) => {
      assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${String(err)}`);
      assert.equal(err.code, 'VALIDATION_FAILED');
      return true;
    });
  } finally {
    await harness.close();
  }
  console.log('greeter.check: ok');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
