import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES } from '@agent-pipeline/protocol';

/** Every HTTP error answer: `{ statusCode, code, message, details? }`. */
export class ErrorBodyDto {
  @ApiProperty({ example: 404 })
  statusCode: number;

  @ApiProperty({
    enum: [...ERROR_CODES, 'NOT_FOUND'],
    example: 'RUN_NOT_FOUND',
    description: 'One of the contract error codes; `NOT_FOUND` for routes that do not exist.',
  })
  code: string;

  @ApiProperty({ example: "Run '0b7e…' was not found." })
  message: string;

  @ApiPropertyOptional({
    description: 'Machine-readable specifics, e.g. `{ fields: [{ field, errors }] }` for VALIDATION_FAILED.',
    type: 'object',
    additionalProperties: true,
  })
  details?: unknown;
}
