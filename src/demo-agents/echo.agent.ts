import { IsString } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Agent, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';

/** Input of the `echo` agent. */
export class EchoInput {
  /** The text to send back; may be empty. */
  @JSONSchema({ description: 'The text to send back.' })
  @IsString()
  text: string;
}

/** Sends its text back as one message delta and completes with that text. */
@Agent({ name: 'echo', description: 'Repeats the text it is given.', input: EchoInput })
export class EchoAgent implements AgentHandler<EchoInput, string> {
  async run({ input, notifier }: AgentRunContext<EchoInput>): Promise<string> {
    notifier.thinking('Echoing the text back');
    notifier.messageDelta(input.text);
    return input.text;
  }
}
