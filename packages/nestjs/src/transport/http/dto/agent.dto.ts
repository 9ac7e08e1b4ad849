import { ApiProperty } from '@nestjs/swagger';

/** A registered agent. */
export class AgentDto {
  @ApiProperty({ example: 'echo' })
  name: string;

  @ApiProperty({ example: 'Repeats the text it is given.' })
  description: string;
}
