import { IsOptional, IsString } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Agent, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';

/** Input of the `failing` agent. */
export class FailingInput {
  /** The message of the error; a fixed one when left out. */
  @JSONSchema({ description: 'The message of the error; a fixed one when left out.' })
  @IsOptional()
  @IsString()
  message?: string;
}

/** The message used when the input gives none. */
export const DEFAULT_FAILURE_MESSAGE = 'The failing agent failed, as it always does.';

/** Always fails, with the given message: shows what `agent_error` `AGENT_FAILED` looks like. */
@Agent({ name: 'failing', description: 'Always fails, with the message it is given.', input: FailingInput })
export class FailingAgent implements AgentHandler<FailingInput, never> {
  async run({ input, notifier }: AgentRunContext<FailingInput>): Promise<never> {
    notifier.thinking('About to fail on purpose');
    throw new Error(input.message ?? DEFAULT_FAILURE_MESSAGE);
  }
}
