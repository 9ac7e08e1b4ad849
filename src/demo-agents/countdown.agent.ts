import { IsInt, Max, Min } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Agent, type AgentHandler, type AgentRunContext, abortableSleep, throwIfAborted } from '@agent-pipeline/nestjs';

/** Input of the `countdown` agent. */
export class CountdownInput {
  /** How many thinking events to emit, 1–10 000. */
  @JSONSchema({ description: 'How many thinking events to emit.' })
  @IsInt()
  @Min(1)
  @Max(10_000)
  steps: number;

  /** Wait before each step in milliseconds, 0–60 000. */
  @JSONSchema({ description: 'The wait before each step, in milliseconds.' })
  @IsInt()
  @Min(0)
  @Max(60_000)
  intervalMs: number;
}

/**
 * Emits one thinking event per interval and completes with the number of steps; stops at once
 * when the run is cancelled. Handy for exercising cancel, timeouts and replay.
 *
 * Durable: each tick is a step, so a countdown whose node died goes on from the tick it had
 * reached (only the tick in flight at the node's death may be emitted twice).
 */
@Agent({
  name: 'countdown',
  description: 'Counts down a number of steps, one thinking event per interval; cancel it any time.',
  input: CountdownInput,
  durable: true,
})
export class CountdownAgent implements AgentHandler<CountdownInput, number> {
  async run({ input, notifier, signal, step }: AgentRunContext<CountdownInput>): Promise<number> {
    const { steps, intervalMs } = input;
    for (let tick = 1; tick <= steps; tick++) {
      await step(`tick-${tick}`, async () => {
        await abortableSleep(intervalMs, signal);
        // The abort may land between the timer firing and this continuation.
        throwIfAborted(signal);
        notifier.thinking(`Step ${tick} of ${steps}`);
      });
    }
    return steps;
  }
}
