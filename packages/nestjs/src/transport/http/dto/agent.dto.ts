import { ApiProperty } from '@nestjs/swagger';
import type { JsonSchemaObject } from '@agent-pipeline/protocol';

/** A registered agent. */
export class AgentDto {
  @ApiProperty({ example: 'echo' })
  name: string;

  @ApiProperty({ example: 'Repeats the text it is given.' })
  description: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "JSON Schema (draft 2020-12) of the agent's input, derived from its input class; `{ type: 'object' }` when it declares none.",
    example: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  })
  inputSchema: JsonSchemaObject;

  @ApiProperty({ description: "Whether the agent's runs survive the loss of their node.", example: false })
  durable: boolean;
}
